package events

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// message builds the NATS message of a record, or says why it can never be
// published.
func (r *Relay) message(rec service.OutboxRecord) (*nats.Msg, string, error) {
	subject := r.conn.SubjectPrefix() + rec.Subject
	if !strings.HasPrefix(rec.Subject, domain.SubjectRoot) || !ValidSubject(subject) {
		return nil, ParkSubject, fmt.Errorf("invalid subject %q", rec.Subject)
	}
	data, err := Encode(rec)
	if err != nil {
		return nil, ParkEncode, fmt.Errorf("cannot encode: %w", err)
	}
	// Header keys as nats.Header.Set would write them (already canonical).
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{headerMsgID: {rec.ID}, headerContent: {ContentType}}}
	size := len(subject) + len(data) + len(rec.ID) + len(ContentType) + 64
	if limit := r.conn.NATS().MaxPayload(); limit > 0 && int64(size) > limit {
		return nil, ParkTooLarge, fmt.Errorf("message of about %d bytes exceeds the server's maximum payload %d", size, limit)
	}
	return msg, "", nil
}

// refused reports whether JetStream refused a message for good (it is larger
// than the stream takes), and the reason to park it with.
func refused(err error) (string, bool) {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum || apiErr.ErrorCode == codeHeaderTooLarge) {
		return ParkTooLarge, true
	}
	return "", false
}

// codeHeaderTooLarge is JetStream's "header size exceeds maximum allowed".
const codeHeaderTooLarge jetstream.ErrorCode = 10097

func (r *Relay) park(ctx context.Context, rec service.OutboxRecord, reason string, cause error) error {
	ctx, cancel := context.WithTimeout(ctx, markTimeout)
	defer cancel()
	if err := r.reader.MarkFailed(ctx, rec.Seq, reason+": "+cause.Error(), true); err != nil {
		return fmt.Errorf("park event seq %d: %w", rec.Seq, err)
	}
	r.m.parked(reason)
	r.log.Error("event relay: event parked, it will not be published",
		"seq", rec.Seq, "id", rec.ID, "type", rec.Type, "dossier", rec.DossierCode, "reason", reason, "err", cause)
	return nil
}

// ValidSubject reports whether NATS accepts s as the subject of a published
// message: non-empty dot-separated tokens, no empty token, no wildcard (* or
// >), no white space or control character, valid UTF-8.
func ValidSubject(s string) bool {
	if s == "" || !utf8.ValidString(s) || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false // an empty token
	}
	for _, c := range s {
		if c == '*' || c == '>' || unicode.IsSpace(c) || unicode.IsControl(c) {
			return false
		}
	}
	return true
}
