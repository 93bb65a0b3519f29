package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
)

// describeResult is the part of DescribeSObjectResult healthsync uses (REST
// API Developer Guide, "sObject Describe").
type describeResult struct {
	Name   string          `json:"name"`
	Fields []describeField `json:"fields"`
	byName map[string]*describeField
}

type describeField struct {
	Name               string `json:"name"`
	Label              string `json:"label"`
	Type               string `json:"type"`
	Length             int    `json:"length"`
	Precision          int    `json:"precision"`
	Scale              int    `json:"scale"`
	Updateable         bool   `json:"updateable"`
	Createable         bool   `json:"createable"`
	Nillable           bool   `json:"nillable"`
	RestrictedPicklist bool   `json:"restrictedPicklist"`
	PicklistValues     []struct {
		Value  string `json:"value"`
		Active bool   `json:"active"`
	} `json:"picklistValues"`
}

func (d *describeResult) field(name string) *describeField { return d.byName[strings.ToLower(name)] }

// errNoObject is returned by describe for an object the org does not have.
var errNoObject = errors.New("object does not exist")

// describe returns an object's describe, cached for the client's life.
func (c *Client) describe(ctx context.Context, object string) (*describeResult, error) {
	c.descMu.Lock()
	d := c.describes[object]
	c.descMu.Unlock()
	if d != nil {
		return d, nil
	}
	d = &describeResult{}
	err := c.call(ctx, http.MethodGet, c.dataPath("/sobjects/"+url.PathEscape(object)+"/describe"), nil, nil, d)
	var he *httpclient.Error
	if errors.As(err, &he) && he.Status == http.StatusNotFound {
		return nil, fmt.Errorf("describing %s: %w", object, errNoObject)
	}
	if err != nil {
		return nil, fmt.Errorf("describing %s: %w", object, err)
	}
	d.byName = make(map[string]*describeField, len(d.Fields))
	for i := range d.Fields {
		d.byName[strings.ToLower(d.Fields[i].Name)] = &d.Fields[i]
	}
	c.descMu.Lock()
	c.describes[object] = d
	c.descMu.Unlock()
	return d, nil
}

// Preflight describes each object and reports, all at once, the mapped fields
// that do not exist or are not writable.
func (c *Client) Preflight(ctx context.Context, fields map[string][]string) ([]record.FieldProblem, error) {
	var problems []record.FieldProblem
	objects := make([]string, 0, len(fields))
	for o := range fields {
		objects = append(objects, o)
	}
	slices.Sort(objects)
	for _, o := range objects {
		d, err := c.describe(ctx, o)
		if errors.Is(err, errNoObject) {
			for _, f := range fields[o] {
				problems = append(problems, record.FieldProblem{Object: o, Field: f, Problem: "object does not exist"})
			}
			continue
		}
		if err != nil {
			return problems, fmt.Errorf("preflight: %w", err)
		}
		for _, f := range fields[o] {
			df := d.field(f)
			switch {
			case df == nil:
				problems = append(problems, record.FieldProblem{Object: o, Field: f, Problem: "does not exist"})
			case !df.Updateable:
				problems = append(problems, record.FieldProblem{Object: o, Field: f, Problem: "is not writable"})
			}
		}
	}
	return problems, nil
}
