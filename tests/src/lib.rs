//! End-to-end tests live in `tests/`: each starts the real components (API, worker,
//! simulator) in-process on port 0 against real Postgres and Redis, the way an operator runs
//! them, and asserts what a producer or an operator would see.
