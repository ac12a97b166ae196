package store

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm/clause"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// NextChecksDue locks the dossiers whose next check has come, skipping rows
// another watcher holds, and loads their steps and pauses in two queries.
func (q queries) NextChecksDue(ctx context.Context, now time.Time, limit int) ([]*domain.Dossier, error) {
	db := q.ctx(ctx).Where("next_deadline_at IS NOT NULL AND next_deadline_at <= ?", ts(now)).Order("next_deadline_at").Limit(limit)
	if q.dialect == Postgres {
		db = db.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
	}
	var rows []dossierRow
	if err := db.Find(&rows).Error; err != nil {
		return nil, translate(err, "due dossiers")
	}
	return q.withStepsAndPauses(ctx, rows)
}

type claimKey struct {
	DossierID int64
	Kind      string
	StepSeq   int
}

// ClaimChecks inserts the claims; those already present insert nothing and
// are left out of the answer. Within one call a dossier has at most one
// check per (kind, step), so RETURNING those three columns names the fresh
// claims.
func (q queries) ClaimChecks(ctx context.Context, claims []service.Claim, at time.Time) (map[service.Claim]bool, error) {
	fresh := make(map[service.Claim]bool, len(claims))
	for start := 0; start < len(claims); start += 500 {
		part := claims[start:min(start+500, len(claims))]
		byKey := make(map[claimKey]service.Claim, len(part))
		var (
			sql  strings.Builder
			args = make([]any, 0, 5*len(part))
		)
		sql.WriteString("INSERT INTO deadline_claims (dossier_id, kind, step_seq, deadline_at, created_at) VALUES ")
		for i, c := range part {
			if i > 0 {
				sql.WriteString(", ")
			}
			sql.WriteString("(?, ?, ?, ?, ?)")
			args = append(args, c.DossierID, string(c.Kind), c.StepSeq, time.UnixMicro(c.Deadline).UTC(), ts(at))
			byKey[claimKey{c.DossierID, string(c.Kind), c.StepSeq}] = c
		}
		sql.WriteString(" ON CONFLICT DO NOTHING RETURNING dossier_id, kind, step_seq")
		var got []claimKey
		if err := q.ctx(ctx).Raw(sql.String(), args...).Scan(&got).Error; err != nil {
			return nil, translate(err, "deadline claims")
		}
		for _, k := range got {
			fresh[byKey[k]] = true
		}
	}
	return fresh, nil
}

// SetNextCheckAt moves the watcher's next looks at dossiers in one UPDATE.
func (q queries) SetNextCheckAt(ctx context.Context, next map[int64]*time.Time) error {
	if len(next) == 0 {
		return nil
	}
	var (
		sql  strings.Builder
		args = make([]any, 0, 2*len(next)+1)
		ids  = make([]int64, 0, len(next))
	)
	// PostgreSQL cannot type a bare parameter inside CASE; SQLite keeps times as text.
	then := " WHEN ? THEN ?"
	if q.dialect == Postgres {
		then = " WHEN ? THEN ?::timestamptz"
	}
	sql.WriteString("UPDATE dossiers SET next_deadline_at = CASE id")
	for id, at := range next {
		sql.WriteString(then)
		args = append(args, id, tsp(at))
		ids = append(ids, id)
	}
	sql.WriteString(" END WHERE id IN ?")
	args = append(args, ids)
	return translate(q.ctx(ctx).Exec(sql.String(), args...).Error, "next checks")
}

// WriteEvents puts events in the outbox.
func (q queries) WriteEvents(ctx context.Context, events []domain.Event) error {
	return q.writeEvents(ctx, events)
}
