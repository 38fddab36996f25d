//! Floods of failed authentications, sign-ins and streams are throttled; valid keys never are.
