package web

import (
	"net"
	"net/http"
	"strings"
)

// requestBase is the site's address as a request tells it, for when
// PUBLIC_URL is unset (the receipt's QR link, the OIDC redirect). Host,
// X-Forwarded-Proto and X-Forwarded-Host are whatever the client wrote, so
// they are believed only from a trusted proxy (TRUSTED_PROXIES); for anyone
// else the address is the one the connection arrived on, which no client
// chooses. A forwarded host must look like a host name or address with an
// optional port.
func requestBase(r *http.Request, trusted []*net.IPNet) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if peerTrusted(r.RemoteAddr, trusted) {
		if p := strings.ToLower(firstValue(r.Header.Get("X-Forwarded-Proto"))); p == "http" || p == "https" {
			scheme = p
		}
		host := firstValue(r.Header.Get("X-Forwarded-Host"))
		if host == "" {
			host = r.Host
		}
		if validHost(host) {
			return scheme + "://" + host
		}
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok && a != nil {
		return scheme + "://" + a.String()
	}
	return scheme + "://localhost"
}

// peerTrusted says whether the connection's peer is a trusted proxy.
func peerTrusted(remote string, trusted []*net.IPNet) bool {
	if len(trusted) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	for _, n := range trusted {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// firstValue is the first of comma-separated values (the client's end of a
// proxy chain), trimmed.
func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// validHost accepts host, host:port, an IPv4 address or a bracketed IPv6
// address with an optional port; nothing else (no userinfo, path or
// spaces) can reach a link.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	host, port, ok := splitHost(h)
	return ok && validPort(port) && validLabels(host)
}

// splitHost splits host[:port] or [IPv6][:port]; a bracketed address comes
// back as host "" (it is checked here), and a ":" with no port is not ok.
func splitHost(h string) (host, port string, ok bool) {
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 || net.ParseIP(h[1:end]) == nil {
			return "", "", false
		}
		port = strings.TrimPrefix(h[end+1:], ":")
		return "", port, port != "" || len(h) == end+1
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		return h[:i], h[i+1:], i+1 < len(h)
	}
	return h, "", true
}

// validPort is empty or at most five digits.
func validPort(port string) bool {
	if len(port) > 5 {
		return false
	}
	for _, r := range port {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// validLabels says whether host is dot-separated labels of letters, digits
// and inner hyphens, each 1 to 63 long ("" passes: a bracketed address).
func validLabels(host string) bool {
	if host == "" {
		return true
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for j, r := range label {
			ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' && j > 0 && j < len(label)-1
			if !ok {
				return false
			}
		}
	}
	return true
}
