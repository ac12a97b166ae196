package domain

import (
	"strings"
	"time"
)

// Agency is a state body or one of its units (a one-stop unit, a department),
// identified by its electronic ID.
type Agency struct {
	Code       string
	Name       string
	ParentCode string
	// Path lists the agency's ancestors and itself, "/ROOT/.../CODE/", so a
	// subtree is a prefix.
	Path string
	// Hours are the office hours; nil means the default hours.
	Hours     *OfficeHours
	CreatedAt time.Time
	UpdatedAt time.Time
}

// OfficeHours returns the agency's hours, or the default ones.
func (a Agency) OfficeHours() OfficeHours {
	if a.Hours != nil {
		return *a.Hours
	}
	return DefaultOfficeHours()
}

// Validate checks an agency before it is saved.
func (a Agency) Validate() error {
	var f Fields
	if !ValidAgencyCode(a.Code) {
		f.Add("code", "must be an agency electronic ID such as 000.00.07.H29 (upper-case letters and digits in dot-separated groups, at most 35 characters)")
	}
	if a.Name == "" || len(a.Name) > 300 {
		f.Add("name", "is required (at most 300 characters)")
	}
	if a.ParentCode != "" {
		if !ValidAgencyCode(a.ParentCode) {
			f.Add("parent_code", "is not a valid agency code")
		} else if a.ParentCode == a.Code {
			f.Add("parent_code", "cannot be the agency itself")
		}
	}
	return f.Err()
}

// Within reports whether the agency is root or lies in its subtree.
func (a Agency) Within(root string) bool {
	return a.Code == root || strings.Contains(a.Path, "/"+root+"/")
}
