-- The account owner's own token, kept apart from the token Herald posts with.
--
-- A Facebook connection posts to its Page with the Page's token, but only the user's token
-- lists the Pages (`/me/accounts` refuses a Page token). Once a Page is chosen, `access_token`
-- holds the Page token and `user_access_token` the user's; before that (and on every other
-- platform) `user_access_token` is NULL and `access_token` is the user's. Sealed like the
-- other tokens (associated data `connections:{id}:user_access_token`), with the same
-- tripwire on its shape.

ALTER TABLE connections
    ADD COLUMN user_access_token text
        CHECK (user_access_token ~ '^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]{38,}$');
