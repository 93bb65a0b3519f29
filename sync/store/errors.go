package store

import (
	"errors"
)

// Errors callers branch on, shared by every backend; they may come wrapped,
// so test them with errors.Is.
var (
	// ErrInUse is wrapped by Open's error when another process holds the file.
	ErrInUse = errors.New("in use by another healthsync process")
	// ErrNewerSchema means the file was written by a newer healthsync.
	ErrNewerSchema = errors.New("schema version is newer than this build")
	// ErrCorrupt means a stored value could not be decoded.
	ErrCorrupt = errors.New("corrupt store value")
	// ErrNotFound is returned by calls that act on one entry that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("store is closed")
)
