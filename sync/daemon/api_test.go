package daemon

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// noCopyStore is a store whose backend cannot write a copy of itself: the
// embedded interface hides bolt's WriteTo, as a database server's would be
// absent.
type noCopyStore struct{ store.Store }

// TestAPIBackup: GET /api/backup streams the bbolt file with the byte count
// in its trailer; a store that is not an io.WriterTo is answered 501 with
// a JSON error, not an empty 200.
func TestAPIBackup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	st, err := bolt.Open(path, bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.SetMeta("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if _, err := st.WriteTo(&file); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		Status  int
		Type    string
		Trailer string
		Body    string
	}
	cases := []struct {
		name string
		st   store.Store
		want answer
	}{
		{"bolt", st, answer{http.StatusOK, "application/octet-stream", strconv.Itoa(file.Len()), file.String()}},
		{"no copy", noCopyStore{st}, answer{http.StatusNotImplemented, "application/json", "",
			"{\n  \"error\": \"this store cannot stream a copy of itself; back it up with its own tools\"\n}\n"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(NewAPI(nil, c.st, zerolog.Nop()))
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/api/backup")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body bytes.Buffer
			if _, err := body.ReadFrom(resp.Body); err != nil {
				t.Fatal(err)
			}
			got := answer{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Trailer.Get(BackupTrailer), body.String()}
			if got != c.want {
				t.Errorf("got %d %q trailer %q, %d bytes %.80q\nwant %d %q trailer %q, %d bytes %.80q",
					got.Status, got.Type, got.Trailer, len(got.Body), got.Body,
					c.want.Status, c.want.Type, c.want.Trailer, len(c.want.Body), c.want.Body)
			}
		})
	}
}
