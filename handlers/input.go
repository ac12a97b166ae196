package handlers

import (
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/motcua/motcua/domain"
)

var timeType = reflect.TypeOf(time.Time{})

// checkInput walks a decoded body and names every text with characters no
// field may hold (domain.TextProblem) and every time out of domain's
// bounds, by its JSON path (applicant.name, items[2]): a 422 before any
// command runs, so nothing is written and no dossier number is taken.
func checkInput(v any) error {
	var f domain.Fields
	walkInput(reflect.ValueOf(v), "", &f)
	return f.Err()
}

func walkInput(v reflect.Value, path string, f *domain.Fields) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkInput(v.Elem(), path, f)
		}
	case reflect.String:
		if msg := domain.TextProblem(v.String()); msg != "" {
			f.Add(path, "%s", msg)
		}
	case reflect.Struct:
		if v.Type() == timeType {
			if t := v.Interface().(time.Time); !domain.ValidTime(t) {
				f.Add(path, "%s", domain.TimeBoundsMessage)
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			sf := v.Type().Field(i)
			if !sf.IsExported() {
				continue
			}
			name := strings.Split(sf.Tag.Get("json"), ",")[0]
			if name == "-" {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if sf.Anonymous && sf.Tag.Get("json") == "" {
				walkInput(v.Field(i), path, f)
				continue
			}
			walkInput(v.Field(i), join(path, name), f)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walkInput(v.Index(i), path+"["+strconv.Itoa(i)+"]", f)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key()
			if k.Kind() == reflect.String {
				if msg := domain.TextProblem(k.String()); msg != "" {
					f.Add(path, "%s", "keys "+msg)
					continue
				}
				walkInput(iter.Value(), join(path, k.String()), f)
			}
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// queryTime parses an RFC 3339 query parameter within domain's bounds.
func queryTime(f *domain.Fields, name, v string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		f.Add(name, "must be an RFC 3339 time with offset, e.g. 2026-03-16T08:00:00+07:00")
		return time.Time{}, false
	}
	if !domain.ValidTime(t) {
		f.Add(name, "%s", domain.TimeBoundsMessage)
		return time.Time{}, false
	}
	return t, true
}

// guardParams refuses the API's path and query parameters with characters
// no field may hold (domain.TextProblem): a 422 naming the parameter, before
// a handler passes them to the database (PostgreSQL refuses NUL in text).
// The pages run guardPageParams in their own chain, so the refusal is a page.
func guardParams(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !strings.HasPrefix(c.Request().URL.Path, "/api/") {
			return next(c)
		}
		return guardPageParams(next)(c)
	}
}

// guardPageParams checks every path and query parameter (see guardParams).
func guardPageParams(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var f domain.Fields
		for i, name := range c.ParamNames() {
			if i < len(c.ParamValues()) {
				if msg := domain.TextProblem(c.ParamValues()[i]); msg != "" {
					f.Add(name, "%s", msg)
				}
			}
		}
		for name, vs := range c.QueryParams() {
			if msg := domain.TextProblem(name); msg != "" {
				f.Add("query", "%s", "parameter names "+msg)
				continue
			}
			for _, v := range vs {
				if msg := domain.TextProblem(v); msg != "" {
					f.Add(name, "%s", msg)
					break
				}
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		return next(c)
	}
}
