package store

import (
	"gorm.io/gorm"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// lateWhere narrows the dossier list to the dossiers behind a count of the
// lateness report (docs/reports.md, Lateness), as applyLateness counts it:
// a step hand-off (step_seq > 0) of verdict late, from the unit (and by the
// officer), on a local day of the period; with First, a dossier finished
// late in the period (processed_at) whose late step of lowest step_seq
// (firstLate) was the unit's (and officer's).
func lateWhere(db *gorm.DB, l *service.LateFilter) *gorm.DB {
	late := string(domain.VerdictLate)
	who, args := "", []any{late}
	if l.Unit != "" {
		who += " AND h.from_unit = ?"
		args = append(args, l.Unit)
	}
	if l.Sub != "" {
		who += " AND h.actor = ?"
		args = append(args, l.Sub)
	}
	if !l.First {
		args = append(args, ts(l.From), ts(l.To))
		return db.Where(`EXISTS (SELECT 1 FROM dossier_handoffs h WHERE h.dossier_id = dossiers.id AND h.step_seq > 0
			AND h.verdict = ?`+who+` AND h.at >= ? AND h.at < ?)`, args...)
	}
	args = append(args, late)
	return db.Where(`verdict = ? AND processed_at >= ? AND processed_at < ?`, late, ts(l.From), ts(l.To)).
		Where(`EXISTS (SELECT 1 FROM dossier_handoffs h WHERE h.dossier_id = dossiers.id AND h.step_seq > 0
			AND h.verdict = ?`+who+` AND NOT EXISTS (SELECT 1 FROM dossier_handoffs e WHERE e.dossier_id = h.dossier_id
			AND e.step_seq > 0 AND e.verdict = ? AND e.step_seq < h.step_seq))`, args...)
}
