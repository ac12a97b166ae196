package handlers

import (
	"errors"
	"strconv"
	"time"

	"github.com/motcua/motcua/domain"
)

// local shows times in Vietnam's offset (+07:00), as clerks read them.
func local(t time.Time) time.Time { return t.In(domain.Vietnam()) }

func localp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := local(*t)
	return &v
}

func itoa(i int) string { return strconv.Itoa(i) }

func atoiPositive(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, errors.New("not a positive integer")
	}
	return n, nil
}

func queryError(field, msg string) error {
	return &domain.Error{Kind: domain.Invalid, Code: domain.CodeValidationFailed, Detail: field + " " + msg,
		Fields: []domain.FieldError{{Field: field, Message: msg}}}
}
