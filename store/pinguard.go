package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// The PIN attempt counters (table pin_guard, docs/security.md): one row per
// client address, per (dossier code, address) and per dossier code, each
// with the end of its fixed window.

// CountPINAttempt bumps the counters in one INSERT ... ON CONFLICT ...
// RETURNING: each row is incremented and read in the same atomic step, so
// concurrent attempts each see a different count.
func (q queries) CountPINAttempt(ctx context.Context, now time.Time, counts []service.GuardCount) ([]int, error) {
	if len(counts) == 0 {
		return nil, nil
	}
	var sb strings.Builder
	args := make([]any, 0, len(counts)*3+2)
	sb.WriteString("INSERT INTO pin_guard (scope, key, failures, window_ends) VALUES ")
	for i, c := range counts {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(?, ?, 1, ?)")
		args = append(args, c.Scope, c.Key, ts(c.WindowEnd))
	}
	sb.WriteString(` ON CONFLICT (scope, key) DO UPDATE SET
		failures = CASE WHEN pin_guard.window_ends <= ? THEN 1 ELSE pin_guard.failures + 1 END,
		window_ends = CASE WHEN pin_guard.window_ends <= ? THEN excluded.window_ends ELSE pin_guard.window_ends END
		RETURNING scope, key, failures`)
	args = append(args, ts(now), ts(now))
	rows, err := q.ctx(ctx).Raw(sb.String(), args...).Rows()
	if err != nil {
		return nil, translate(err, "pin attempt")
	}
	defer rows.Close()
	got := make(map[[2]string]int, len(counts))
	for rows.Next() {
		var scope, key string
		var n int
		if err := rows.Scan(&scope, &key, &n); err != nil {
			return nil, translate(err, "pin attempt")
		}
		got[[2]string{scope, key}] = n
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err, "pin attempt")
	}
	out := make([]int, len(counts))
	for i, c := range counts {
		out[i] = got[[2]string{c.Scope, c.Key}]
	}
	return out, nil
}

// GiveBackPINAttempts takes right PINs' attempts back, a batch in one
// statement (docs/security.md, "Attempt limits"). Each give-back counts only
// in the window its attempt was counted in (the row's window ends no later
// than a window started at the attempt would); the client's counter loses
// one per give-back, the pair's and the dossier's the count the attempt
// returned (the latest one when several give back on one key), never going
// below 0, so attempts counted after the right PIN stay counted. On
// PostgreSQL the rows are locked first in one order (client, pair, dossier,
// then key), the order an attempt takes them in, so a batch and attempts
// never deadlock.
func (q queries) GiveBackPINAttempts(ctx context.Context, gs []service.PINGiveBack) error {
	if len(gs) == 0 {
		return nil
	}
	type item struct {
		S string `json:"s"`
		K string `json:"k"`
		N int    `json:"n"`
		B string `json:"b"`
	}
	items := make([]item, 0, 3*len(gs))
	add := func(c service.GuardCount, n int) {
		items = append(items, item{S: c.Scope, K: c.Key, N: n, B: ts(c.WindowEnd).Format(timeFormat)})
	}
	for _, g := range gs {
		add(g.Client, 1)
		add(g.Pair, g.PairCount)
		add(g.Dossier, g.DossierCount)
	}
	list, err := json.Marshal(items)
	if err != nil {
		return err
	}
	if q.dialect == Postgres {
		err = q.ctx(ctx).Exec(giveBackPG, string(list), service.GuardClient, service.GuardPair, service.GuardClient).Error
	} else {
		err = q.ctx(ctx).Exec(giveBackSQLite, string(list), service.GuardClient).Error
	}
	return translate(err, "pin give-back")
}

const giveBackPG = `WITH g AS (SELECT * FROM json_to_recordset(CAST(? AS json)) AS g(s text, k text, n int, b timestamptz)),
	locked AS (SELECT p.scope, p.key, p.window_ends FROM pin_guard p WHERE (p.scope, p.key) IN (SELECT s, k FROM g)
		ORDER BY CASE p.scope WHEN ? THEN 0 WHEN ? THEN 1 ELSE 2 END, p.key FOR UPDATE),
	take AS (SELECT l.scope, l.key, CASE WHEN l.scope = ? THEN count(*) ELSE max(g.n) END AS n
		FROM locked l JOIN g ON g.s = l.scope AND g.k = l.key AND l.window_ends <= g.b GROUP BY l.scope, l.key)
	UPDATE pin_guard p SET failures = GREATEST(p.failures - take.n, 0) FROM take
	WHERE p.scope = take.scope AND p.key = take.key`

// giveBackSQLite is giveBackPG for SQLite, whose one writer at a time needs
// no lock order.
const giveBackSQLite = `WITH g(s, k, n, b) AS (SELECT json_extract(value, '$.s'), json_extract(value, '$.k'),
		json_extract(value, '$.n'), json_extract(value, '$.b') FROM json_each(?)),
	take AS (SELECT p.scope, p.key, CASE WHEN p.scope = ? THEN count(*) ELSE max(g.n) END AS n
		FROM pin_guard p JOIN g ON g.s = p.scope AND g.k = p.key AND p.window_ends <= g.b GROUP BY p.scope, p.key)
	UPDATE pin_guard SET failures = MAX(pin_guard.failures - take.n, 0) FROM take
	WHERE pin_guard.scope = take.scope AND pin_guard.key = take.key`

// DeletePINGuards deletes the counters whose window ended.
func (q queries) DeletePINGuards(ctx context.Context, now time.Time) (int64, error) {
	res := q.ctx(ctx).Exec("DELETE FROM pin_guard WHERE window_ends < ?", ts(now))
	return res.RowsAffected, translate(res.Error, "pin guards")
}

// ClearPINLock forgets the dossier's counters, on every address.
func (q queries) ClearPINLock(ctx context.Context, code string) error {
	err := q.ctx(ctx).Exec("DELETE FROM pin_guard WHERE (scope = ? AND key = ?) OR (scope = ? AND key >= ? AND key < ?)",
		service.GuardDossier, code, service.GuardPair, code+"|", code+"}").Error
	return translate(err, "pin lock")
}

// LegacyPINHashes returns unkeyed ("s256$") PIN hashes by dossier id.
func (q queries) LegacyPINHashes(ctx context.Context, limit int) (map[int64]string, error) {
	rows, err := q.ctx(ctx).Raw("SELECT id, pin_hash FROM dossiers WHERE pin_hash LIKE 's256$%' ORDER BY id LIMIT ?", limit).Rows()
	if err != nil {
		return nil, translate(err, "pin hashes")
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var h string
		if err := rows.Scan(&id, &h); err != nil {
			return nil, translate(err, "pin hashes")
		}
		out[id] = h
	}
	return out, translate(rows.Err(), "pin hashes")
}

// ReplacePINHashes rewrites hashes that are still what they were read as,
// in one transaction.
func (q queries) ReplacePINHashes(ctx context.Context, hashes map[int64][2]string) (int, error) {
	n := 0
	err := q.ctx(ctx).Transaction(func(g *gorm.DB) error {
		for id, h := range hashes {
			res := g.Exec("UPDATE dossiers SET pin_hash = ? WHERE id = ? AND pin_hash = ?", h[1], id, h[0])
			if res.Error != nil {
				return res.Error
			}
			n += int(res.RowsAffected)
		}
		return nil
	})
	if err != nil {
		return 0, translate(err, "pin hashes")
	}
	return n, nil
}

// DeleteIdempotencyKeys deletes the keys (and their sealed PINs) stored
// before the instant.
func (q queries) DeleteIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	res := q.ctx(ctx).Exec("DELETE FROM idempotency_keys WHERE created_at < ?", ts(before))
	return res.RowsAffected, translate(res.Error, "idempotency keys")
}

// AttemptLookup counts a look-up's attempt and reads what it checks. On
// PostgreSQL it is one statement: the client's and the pair's counters are
// bumped in one INSERT ... ON CONFLICT ... RETURNING (a data-modifying WITH),
// the dossier's in a second one only when the first returned counts within
// their maxima, and the head and the catalogue's version are read beside
// them; so a look-up makes one round trip before the PIN is checked instead
// of four (docs/benchmarks.md, "Hot paths"). SQLite runs the same steps one
// after another.
func (q queries) AttemptLookup(ctx context.Context, a service.PINAttempt) (service.PINAttemptResult, error) {
	if q.dialect != Postgres {
		return q.attemptLookupSteps(ctx, a)
	}
	now := ts(a.Now)
	var r service.PINAttemptResult
	var id, version sql.NullInt64
	var hash sql.NullString
	err := q.ctx(ctx).Raw(`WITH cp AS (
		INSERT INTO pin_guard (scope, key, failures, window_ends) VALUES (?, ?, 1, ?), (?, ?, 1, ?)
		ON CONFLICT (scope, key) DO UPDATE SET
			failures = CASE WHEN pin_guard.window_ends <= ? THEN 1 ELSE pin_guard.failures + 1 END,
			window_ends = CASE WHEN pin_guard.window_ends <= ? THEN excluded.window_ends ELSE pin_guard.window_ends END
		RETURNING scope, failures),
	d AS (
		INSERT INTO pin_guard (scope, key, failures, window_ends)
		SELECT ?, ?, 1, ? WHERE (SELECT count(*) FROM cp WHERE (scope = ? AND failures <= ?) OR (scope = ? AND failures <= ?)) = 2
		ON CONFLICT (scope, key) DO UPDATE SET
			failures = CASE WHEN pin_guard.window_ends <= ? THEN 1 ELSE pin_guard.failures + 1 END,
			window_ends = CASE WHEN pin_guard.window_ends <= ? THEN excluded.window_ends ELSE pin_guard.window_ends END
		RETURNING failures)
	SELECT (SELECT failures FROM cp WHERE scope = ?), (SELECT failures FROM cp WHERE scope = ?), COALESCE((SELECT failures FROM d), 0),
		h.id, h.version, h.pin_hash, COALESCE((SELECT version FROM cache_versions WHERE name = ?), 0)
	FROM (SELECT 1) AS one LEFT JOIN dossiers h ON h.code = ?`,
		a.Client.Scope, a.Client.Key, ts(a.Client.WindowEnd), a.Pair.Scope, a.Pair.Key, ts(a.Pair.WindowEnd), now, now,
		a.Dossier.Scope, a.Dossier.Key, ts(a.Dossier.WindowEnd), a.Client.Scope, a.MaxClient, a.Pair.Scope, a.MaxPair, now, now,
		a.Client.Scope, a.Pair.Scope, catalogueKey, a.Code).Row().
		Scan(&r.Client, &r.Pair, &r.Dossier, &id, &version, &hash, &r.Catalogue)
	if err != nil {
		return service.PINAttemptResult{}, translate(err, "pin attempt")
	}
	if id.Valid {
		r.Found = true
		r.Head = service.LookupHead{ID: id.Int64, Version: int(version.Int64), PINHash: hash.String}
	}
	return r, nil
}

// attemptLookupSteps is AttemptLookup as separate statements (SQLite, one
// writer at a time, has no data-modifying WITH).
func (q queries) attemptLookupSteps(ctx context.Context, a service.PINAttempt) (service.PINAttemptResult, error) {
	var r service.PINAttemptResult
	counts, err := q.CountPINAttempt(ctx, a.Now, []service.GuardCount{a.Client, a.Pair})
	if err != nil {
		return r, err
	}
	r.Client, r.Pair = counts[0], counts[1]
	if r.Client <= a.MaxClient && r.Pair <= a.MaxPair {
		dc, err := q.CountPINAttempt(ctx, a.Now, []service.GuardCount{a.Dossier})
		if err != nil {
			return r, err
		}
		r.Dossier = dc[0]
	}
	r.Head, err = q.LookupHead(ctx, a.Code)
	switch {
	case err == nil:
		r.Found = true
	case domain.KindOf(err) != domain.NotFound:
		return r, err
	}
	if r.Catalogue, err = q.CatalogueVersion(ctx); err != nil {
		return r, err
	}
	return r, nil
}
