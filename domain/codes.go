package domain

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	agencyCodeRe    = regexp.MustCompile(`^[A-Z0-9]{1,10}(\.[A-Z0-9]{1,10})+$`)
	procedureCodeRe = regexp.MustCompile(`^[0-9]{1,2}\.[0-9]{6}(\.[A-Z0-9]{1,10})?$`)
)

// MaxAgencyCodeLen is the length limit of an electronic agency ID.
const MaxAgencyCodeLen = 35

// ValidAgencyCode reports whether s is an agency electronic ID: up to 35
// characters of upper-case letters and digits in dot-separated groups
// (e.g. 000.00.07.H29).
func ValidAgencyCode(s string) bool {
	return len(s) <= MaxAgencyCodeLen && agencyCodeRe.MatchString(s)
}

// ValidProcedureCode reports whether s is a procedure code of the national
// database (1.001445, 2.000635) with an optional local suffix (1.000948.H38).
func ValidProcedureCode(s string) bool {
	return len(s) <= 40 && procedureCodeRe.MatchString(s)
}

// DossierCode formats a dossier code: <agency>-<YYMMDD of reception>-<sequence>,
// the sequence at least four digits.
func DossierCode(agency string, receivedLocal time.Time, seq int64) string {
	return fmt.Sprintf("%s-%s-%04d", agency, receivedLocal.Format("060102"), seq)
}

// ParseDossierCode splits a dossier code into its agency, day and sequence.
// It rejects anything that is not a well-formed code, so look-ups of garbage
// never reach storage.
func ParseDossierCode(code string) (agency string, day time.Time, seq int64, ok bool) {
	if len(code) > MaxAgencyCodeLen+20 {
		return "", time.Time{}, 0, false
	}
	last := strings.LastIndexByte(code, '-')
	if last < 0 {
		return "", time.Time{}, 0, false
	}
	mid := strings.LastIndexByte(code[:last], '-')
	if mid < 0 {
		return "", time.Time{}, 0, false
	}
	agency, ymd, seqs := code[:mid], code[mid+1:last], code[last+1:]
	if !ValidAgencyCode(agency) || len(ymd) != 6 || len(seqs) < 4 || len(seqs) > 9 {
		return "", time.Time{}, 0, false
	}
	d, err := time.Parse("060102", ymd)
	if err != nil {
		return "", time.Time{}, 0, false
	}
	for _, r := range seqs {
		if r < '0' || r > '9' {
			return "", time.Time{}, 0, false
		}
	}
	n, _ := strconv.ParseInt(seqs, 10, 64)
	if n <= 0 {
		return "", time.Time{}, 0, false
	}
	return agency, d, n, true
}

// SubjectToken writes an agency code as one NATS subject token: each '.'
// becomes '_' (docs/api.md, Events).
func SubjectToken(agency string) string {
	return strings.ReplaceAll(agency, ".", "_")
}
