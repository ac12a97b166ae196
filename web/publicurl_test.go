package web_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/store/storetest"
	"github.com/motcua/motcua/web"
)

// TestQRLinkHostFromTrustedProxiesOnly: with PUBLIC_URL unset, the
// receipt's QR link takes Host and X-Forwarded-Proto/-Host only from a
// trusted proxy; any other client gets the address its connection reached.
func TestQRLinkHostFromTrustedProxiesOnly(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	e.catalogue()
	d := e.intake(intakeBody("1.001612", "counter"))
	v, err := auth.NewHS256([]byte(testSecret), auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(trusted string) *httptest.Server {
		var nets []*net.IPNet
		if trusted != "" {
			_, n, _ := net.ParseCIDR(trusted)
			nets = append(nets, n)
		}
		srv := httptest.NewServer(handlers.New(handlers.Config{Service: e.svc, Verifier: v, Logger: storetest.Quiet(),
			Registry: prometheus.NewRegistry(), TrustedProxies: nets,
			Pages: pages(t, web.Config{Service: e.svc, Verifier: v, Logger: storetest.Quiet(), TrustedProxies: nets})}))
		t.Cleanup(srv.Close)
		return srv
	}
	untrusted, other, proxied := serve(""), serve("10.0.0.0/8"), serve("127.0.0.0/8") // the test client is 127.0.0.1
	clerk := e.token(domain.RoleClerk, center)
	tests := []struct {
		name string
		srv  *httptest.Server
		hdr  map[string]string // "Host" sets the request's host
		want string            // the link's start; "" = the server's own address
	}{
		{"no proxies: Host ignored", untrusted, map[string]string{"Host": "evil.example"}, ""},
		{"no proxies: forwarded headers ignored", untrusted, map[string]string{"Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}, ""},
		{"peer not among the proxies", other, map[string]string{"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}, ""},
		{"trusted proxy: forwarded host and scheme", proxied, map[string]string{"Host": "10.1.2.3:8080", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "motcua.example.gov.vn"}, "https://motcua.example.gov.vn/tra-cuu?"},
		{"trusted proxy: first of a chain", proxied, map[string]string{"X-Forwarded-Proto": "https, http", "X-Forwarded-Host": "motcua.example.gov.vn, internal:8080"}, "https://motcua.example.gov.vn/tra-cuu?"},
		{"trusted proxy: Host", proxied, map[string]string{"Host": "motcua.local:8443"}, "http://motcua.local:8443/tra-cuu?"},
		{"trusted proxy: odd scheme ignored", proxied, map[string]string{"Host": "motcua.local", "X-Forwarded-Proto": "javascript"}, "http://motcua.local/tra-cuu?"},
		{"trusted proxy: a host with a path", proxied, map[string]string{"X-Forwarded-Host": "evil.example/x?"}, ""},
		{"trusted proxy: a host with userinfo", proxied, map[string]string{"X-Forwarded-Host": "motcua.gov.vn@evil.example"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, tt.srv.URL+"/api/v1/dossiers/"+d.Code+"/receipt?pin="+d.LookupPIN, nil)
			req.Header.Set("Authorization", "Bearer "+clerk)
			for k, v := range tt.hdr {
				if k == "Host" {
					req.Host = v
				} else {
					req.Header.Set(k, v)
				}
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 {
				t.Fatalf("receipt: %d %s", res.StatusCode, body)
			}
			_, _, qr := receiptOf(t, page{Status: res.StatusCode, Header: res.Header, Body: string(body)})
			want := tt.want
			if want == "" {
				want = tt.srv.URL + "/tra-cuu?"
			}
			if !strings.HasPrefix(qr, want) {
				t.Errorf("QR link %q, want it to start with %q", qr, want)
			}
			if strings.Contains(qr, "evil") || strings.Contains(string(body), "evil.example") {
				t.Errorf("the client's host reached the receipt: %s", qr)
			}
		})
	}
}
