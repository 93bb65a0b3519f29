package hubspot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
)

// ownerPage is the owners v3 document's
// CollectionResponsePublicOwnerForwardPaging.
type ownerPage struct {
	Results []struct {
		ID        string `json:"id"`
		FirstName string `json:"firstName"`
		LastName  string `json:"lastName"`
	} `json:"results"`
	Paging *struct {
		Next *struct {
			After string `json:"after"`
		} `json:"next"`
	} `json:"paging"`
}

// ownerNames reads every owner, active and archived (a deactivated user
// can still own companies), with GET /crm/v3/owners 100 a page (the
// documented default; developers.hubspot.com "Retrieve all owners"), and
// maps owner ID (hubspot_owner_id) to "firstName lastName". An owner
// without a name is left out, so its companies show the ID. A token
// without crm.objects.owners.read (403 MISSING_SCOPES) gives no names and
// no error: the pull goes on, and a warning says which scope to add.
func (c *Client) ownerNames(ctx context.Context) (map[string]string, error) {
	names := map[string]string{}
	for _, archived := range []bool{false, true} {
		after := ""
		seen := map[string]bool{}
		for {
			q := url.Values{"limit": {strconv.Itoa(listLimit)}}
			if archived {
				q.Set("archived", "true")
			}
			if after != "" {
				q.Set("after", after)
			}
			var p ownerPage
			if _, err := c.call(ctx, http.MethodGet, "/crm/v3/owners", q, nil, &p); err != nil {
				var he *httpclient.Error
				if errors.As(err, &he) && he.Status == http.StatusForbidden && he.Code == "MISSING_SCOPES" {
					c.log.Warn().Str("connector", c.cfg.Name).Str("scope", "crm.objects.owners.read").
						Msg("hubspot token cannot read owners; owner names left out")
					return map[string]string{}, nil
				}
				return nil, fmt.Errorf("reading owners page: %w", err)
			}
			for _, o := range p.Results {
				if n := strings.TrimSpace(o.FirstName + " " + o.LastName); n != "" {
					names[o.ID] = n
				}
			}
			if p.Paging == nil || p.Paging.Next == nil || p.Paging.Next.After == "" {
				break
			}
			after = p.Paging.Next.After
			if seen[after] {
				return nil, fmt.Errorf("reading owners page after %q: %w", after, ErrRepeatedCursor)
			}
			seen[after] = true
		}
	}
	return names, nil
}

// nameOwners sets OwnerName on accounts from the owners cache, reading the
// owners first when the cache is empty. Pull empties the cache, so each run
// reads the owners once; a webhook fetch between runs uses the last run's.
// The cache lock is never held during the read.
func (c *Client) nameOwners(ctx context.Context, accounts []record.Account) error {
	need := false
	for _, a := range accounts {
		need = need || a.OwnerID != ""
	}
	if !need {
		return nil
	}
	c.ownerMu.Lock()
	names := c.owners
	c.ownerMu.Unlock()
	if names == nil {
		var err error
		if names, err = c.ownerNames(ctx); err != nil {
			return err
		}
		c.ownerMu.Lock()
		c.owners = names
		c.ownerMu.Unlock()
	}
	for i := range accounts {
		accounts[i].OwnerName = names[accounts[i].OwnerID]
	}
	return nil
}

// forgetOwners empties the owners cache at the start of a run.
func (c *Client) forgetOwners() {
	c.ownerMu.Lock()
	c.owners = nil
	c.ownerMu.Unlock()
}
