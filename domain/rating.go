package domain

import (
	"strconv"
	"time"
)

// Ratings a citizen may give, and the longest comment kept.
const (
	MinRating        = 1
	MaxRating        = 5
	maxCommentLength = 2000
)

// CitizenSub is the actor of the history line of a citizen's rating: the
// citizen signs in nowhere, the PIN stands for them.
const CitizenSub = "citizen"

// ValidateRating checks a citizen's rating before anything is read.
func ValidateRating(rating int, comment string) error {
	var f Fields
	if rating < MinRating || rating > MaxRating {
		f.Add("rating", "must be from 1 to 5")
	}
	if len(comment) > maxCommentLength {
		f.Add("comment", "at most 2000 characters")
	} else if msg := TextProblem(comment); msg != "" {
		f.Add("comment", "%s", msg)
	}
	return f.Err()
}

// Rate records the citizen's one rating of the service, after the result was
// returned (Decision 766/QĐ-TTg counts satisfaction from these), and returns
// the change: its history line, whose action HistoryRate the roll-ups count.
func (d *Dossier) Rate(rating int, comment string, now time.Time) (Change, error) {
	if err := ValidateRating(rating, comment); err != nil {
		return Change{}, err
	}
	if d.Status != StatusReturned {
		return Change{}, Conflictf("not_returned", "a rating is taken after the result is returned")
	}
	if d.RatedAt != nil {
		return Change{}, Conflictf("already_rated", "this dossier was already rated")
	}
	at := now
	d.Rating, d.RatingComment, d.RatedAt = rating, comment, &at
	d.Version++
	d.UpdatedAt = now
	h := HistoryEntry{At: now, Actor: CitizenSub, Action: HistoryRate, From: d.Status, To: d.Status, Note: "rating " + strconv.Itoa(rating)}
	return Change{History: []HistoryEntry{h}}, nil
}
