package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRedactEveryURL: every password of every URL is hidden in the start-up
// log line, with several NATS servers and a multi-host PostgreSQL URL too.
func TestRedactEveryURL(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		secrets []string
		keep    []string // what an operator still needs to see
	}{
		{"three NATS servers", map[string]string{"NATS_URL": "nats://a:pw-one@n1:4222,nats://b:pw-two@n2:4222,nats://c:pw-three@n3:4222"},
			[]string{"pw-one", "pw-two", "pw-three"}, []string{"n1:4222", "n2:4222", "n3:4222"}},
		{"NATS servers with spaces", map[string]string{"NATS_URL": "nats://a:pw-one@n1:4222, tls://b:pw-two@n2:4222"},
			[]string{"pw-one", "pw-two"}, []string{"n1:4222", "n2:4222"}},
		{"NATS token auth", map[string]string{"NATS_URL": "nats://n1:4222,nats://s3cr3t-token@n2:4222"},
			[]string{"s3cr3t-token"}, []string{"n1:4222", "n2:4222"}},
		{"PostgreSQL multi-host", map[string]string{"DATABASE_URL": "postgres://app:hunter2@db1:5432,db2:5432/motcua?target_session_attrs=read-write"},
			[]string{"hunter2"}, []string{"db1:5432", "target_session_attrs"}},
		{"PostgreSQL password in the query", map[string]string{"DATABASE_URL": "postgres://db1,db2/motcua?user=app&password=hunter2"},
			[]string{"hunter2"}, []string{"db1"}},
		{"PostgreSQL password with @", map[string]string{"DATABASE_URL": "postgres://app:hun@ter2@db1/motcua"},
			[]string{"hun@ter2", "ter2"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadConfig(envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(c.logAttrs(envOf(tt.env)))
			if err != nil {
				t.Fatal(err)
			}
			line := string(b)
			for _, s := range tt.secrets {
				if strings.Contains(line, s) {
					t.Errorf("%q in the log: %s", s, line)
				}
			}
			for _, s := range tt.keep {
				if !strings.Contains(line, s) {
					t.Errorf("%q missing from the log: %s", s, line)
				}
			}
		})
	}
}
