// Package layout holds the test that enforces the package rules of
// ../shared/STYLE.md: nothing imports upward, scoring stays pure, connectors
// never import sync, a vendor fake imports neither its client nor
// "testing" (the demo links it), and the fakes' shared harness,
// connectors/internal/fakeapi, imports only the standard library. Under
// sync/, only sync/store/bolt imports bbolt (or is imported): the engine,
// receiver, notifier and daemon take the interfaces of sync/store. The code
// of sync/engine and sync/webhook names no vendor (it decides by a
// connector's capabilities).
package layout
