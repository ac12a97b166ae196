package handlers_test

import (
	"bytes"
	"encoding/base64"
	"html"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

var (
	qrRe          = regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`)
	receiptCodeRe = regexp.MustCompile(`class="code">([0-9A-Z.]+-[0-9]{6}-[0-9]{4,})<`)
	pinRe         = regexp.MustCompile(`class="pin">([0-9]{8})<`)
)

// The receipt is the API's one text/html answer; the contract check reads
// it as a string.
func init() {
	openapi3filter.RegisterBodyDecoder("text/html", func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(body)
		return string(b), err
	})
}

// decodeQR reads the QR code of a PNG.
func decodeQR(t *testing.T, pngBytes []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatalf("QR image: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		// gozxing's finder-pattern search misses about one code in a
		// thousand that decodes as the clean, unrotated image it is.
		res, err = qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	}
	if err != nil {
		t.Fatalf("QR does not decode: %v", err)
	}
	return res.GetText()
}

// receiptOf reads a receipt page: the code, the PIN and the QR code's text.
func receiptOf(t *testing.T, p page) (code, pin, qr string) {
	t.Helper()
	m := receiptCodeRe.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no dossier code on the receipt:\n%s", p.Body)
	}
	code = m[1]
	if m := pinRe.FindStringSubmatch(p.Body); m != nil {
		pin = m[1]
	}
	if m := qrRe.FindStringSubmatch(p.Body); m != nil {
		b, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		qr = decodeQR(t, b)
	}
	return code, pin, qr
}

func TestReceiptAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		d := e.intake(intakeBody("1.001612", "counter"))
		clerk := e.token(domain.RoleClerk, center)
		path := "/api/v1/dossiers/" + d.Code + "/receipt"

		res := e.must(e.do(http.MethodGet, path+"?pin="+d.LookupPIN, clerk, nil), 200)
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=UTF-8" {
			t.Errorf("content type %q", ct)
		}
		_, pin, qr := receiptOf(t, page{Status: res.Status, Body: string(res.Body)})
		if pin != d.LookupPIN || !strings.HasSuffix(qr, "/tra-cuu?"+url.Values{"ma": {d.Code}, "pin": {d.LookupPIN}}.Encode()) {
			t.Errorf("pin %q, QR %q", pin, qr)
		}
		e.must(e.do(http.MethodGet, path, clerk, nil), 200)
		if p := e.must(e.do(http.MethodGet, path+"?pin=12345678", clerk, nil), 422).problem(t); p.Code != "validation_failed" {
			t.Errorf("wrong pin: %+v", p)
		}
		e.must(e.do(http.MethodGet, path+"?pin="+strings.Repeat("9", 40), clerk, nil), 422)
		e.must(e.do(http.MethodGet, path, "", nil), 401)
		e.must(e.do(http.MethodGet, path, e.token(domain.RoleOfficer, office), nil), 403)
		e.must(e.do(http.MethodGet, path, e.token(domain.RoleClerk, dept), nil), 403)
		e.must(e.do(http.MethodGet, path, e.token(domain.RoleAdmin, root), nil), 200)
		e.must(e.do(http.MethodGet, "/api/v1/dossiers/"+center+"-260316-0099/receipt", clerk, nil), 404)
	})
}
