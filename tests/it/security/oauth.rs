//! The OAuth flow: where it may send the browser back, what reaches a cookie, and who may re-bind a connection.
