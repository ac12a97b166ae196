package web

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/yeqown/go-qrcode/v2"
	"github.com/yeqown/go-qrcode/writer/standard"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/service"
)

// The receipt and appointment slip (Circular 03/2025/TT-VPCP, form 1): a
// printable A4 page with the fields of the form, the look-up PIN and a QR
// code of the look-up link that opens the citizen's page with the code and
// PIN filled in.

type receiptData struct {
	V         service.ReceiptView
	D         *domain.Dossier
	Statutory string
	Documents []string
	PIN       string
	Link      string
	QR        template.URL // data:image/png;base64,...
	BackURL   string
	CSS, JS   string
	Today     time.Time
}

// lookupLink is the citizen's look-up of a dossier with its PIN.
func lookupLink(base, code, pin string) string {
	return base + "/tra-cuu?" + url.Values{"ma": {code}, "pin": {pin}}.Encode()
}

// qrPNG draws text as a QR code PNG (error correction Q: still read when a
// quarter of the printed code is smudged).
func qrPNG(text string) ([]byte, error) {
	q, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionQuart))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := standard.NewWithWriter(nopCloser{&buf}, standard.WithBuiltinImageEncoder(standard.PNG_FORMAT),
		standard.WithQRWidth(6), standard.WithBorderWidth(24))
	if err := q.Save(w); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// nopCloser keeps the writer's Save from closing the buffer: the standard
// writer of yeqown/go-qrcode closes what it writes to.
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// renderReceipt writes the receipt page; back is the console's dossier page
// ("" from the API).
func (p *pages) renderReceipt(c echo.Context, status int, v service.ReceiptView, back string) error {
	d := v.Dossier
	rd := receiptData{V: v, D: d, Statutory: workingTime(d.Clock.Budget), Documents: d.Documents, PIN: v.PIN,
		BackURL: back, CSS: p.css, JS: p.js, Today: p.svc.Now()}
	if v.PIN != "" {
		rd.Link = lookupLink(p.baseURL(c), d.Code, v.PIN)
		png, err := qrPNG(rd.Link)
		if err != nil {
			return err
		}
		rd.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	}
	var buf bytes.Buffer
	if err := p.receipt.ExecuteTemplate(&buf, "receipt", rd); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// receiptAPI is GET /api/v1/dossiers/{code}/receipt[?pin=]: a counter
// application passes the PIN it was just given at intake (checked against
// the stored hash, never printed wrong); without it the receipt is printed
// without PIN and QR code.
func (p *pages) receiptAPI(c echo.Context) error {
	pin := c.QueryParam("pin")
	if len(pin) > maxPINInput {
		return handlers.QueryError("pin", "is not the dossier's look-up PIN")
	}
	v, err := p.svc.Receipt(c.Request().Context(), handlers.ActorOf(c), c.Param("code"), pin)
	if err != nil {
		return err
	}
	back := ""
	if _, ok := c.Get(sessionKey).(session); ok || c.Request().Header.Get(echo.HeaderAuthorization) == "" {
		back = "/can-bo/ho-so/" + url.PathEscape(v.Dossier.Code)
	}
	return p.renderReceipt(c, http.StatusOK, v, back)
}
