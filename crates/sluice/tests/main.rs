//! End-to-end tests: the real `sluice` binary against a real PostgreSQL started by the harness
//! (`sluice-testkit`). Each test uses a database of its own.

mod e2e;
