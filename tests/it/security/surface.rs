//! What every page and route answers: vendored /docs, security headers and CSP, problem+json for every error, /metrics locked.
