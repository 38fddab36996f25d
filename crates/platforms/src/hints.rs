//! Remediation hints: what an operator should do about a failure, in words they can act on.
//!
//! The catalogue covers the common setup and publishing problems of each platform (wrong
//! redirect URI, missing scopes, no Page, expired tokens, duplicates, limits) and what the
//! live APIs document (Graph subcodes, LinkedIn's retired versions, Telegram's migrated
//! chats). `classify.rs` picks one for each failure; `tests/troubleshooting.rs` checks that
//! every known case maps to its class and hint.

use herald_domain::Platform;

// ---- General OAuth (troubleshooting: general OAuth issues) ----

/// `redirect_uri does not match`.
pub const REDIRECT_URI_MISMATCH: &str = "The redirect URI must match the one registered in the \
    app settings exactly (protocol, domain and path, e.g. \
    https://yourdomain.com/api/social/{platform}/callback): check {PLATFORM}_REDIRECT_URI";

/// LinkedIn's variant: both apps share one callback.
pub const LINKEDIN_REDIRECT_URI_MISMATCH: &str = "Both LinkedIn apps must use the same callback \
    URL: set LINKEDIN_COMPANY_REDIRECT_URI to the personal app's LINKEDIN_REDIRECT_URI and \
    register exactly that URL (protocol, domain, path) in both apps";

/// `invalid_client`.
pub const INVALID_CLIENT: &str = "The platform does not accept the app credentials: check {PLATFORM}_CLIENT_ID and \
     {PLATFORM}_CLIENT_SECRET";

/// `invalid_grant` on a code exchange.
pub const CODE_EXPIRED: &str = "The authorization code expired (codes live about 10 minutes) or \
    was already used: start the connection again";

/// `invalid_grant` on a refresh.
pub const REFRESH_REJECTED: &str = "The refresh token expired, was revoked or was already used \
    (X refresh tokens are single-use): reconnect the account";

/// The user declined on the consent screen.
pub const ACCESS_DENIED_BY_USER: &str =
    "The account owner declined the authorization: start the connection again and approve it";

/// Token missing scopes (troubleshooting: token issues).
pub const MISSING_SCOPES: &str = "The token lacks a required permission: disconnect and \
    reconnect the account so it is granted the configured scopes";

// ---- Transport ----

pub const UNKNOWN_OUTCOME: &str = "The post may or may not exist: look it up on the platform \
    before publishing again";
pub const BAD_REQUEST_BUILD: &str =
    "Herald could not build the request: check the configured platform URLs";
pub const SERVER_ERROR: &str = "The platform had an internal error: Herald retries with backoff";
pub const RATE_LIMITED: &str = "Over the platform's rate limit: Herald waits until the window \
    resets (failed requests count too)";
pub const NOT_CONFIGURED: &str = "No app credentials are configured for this platform: set \
    {PLATFORM}_CLIENT_ID, {PLATFORM}_CLIENT_SECRET and {PLATFORM}_REDIRECT_URI";

// ---- X ----

pub const X_MEDIA_TIER: &str = "The X API Free tier may not allow media attachments (the upload \
    works, the post is refused): allow the text-only fallback or upgrade to the Basic tier";
pub const X_RATE_LIMIT: &str = "X rate limit reached (Free: 17 posts / 24 h, Basic: 100): Herald \
    waits until the reset time X reported; failed requests count toward the limit";
pub const X_UNAUTHORIZED: &str = "The X access token expired (tokens last 2 hours): refresh it \
    with the refresh token (needs offline.access); if the refresh fails, reconnect the account";
pub const X_READ_ONLY: &str = "The X app is not allowed to write (x-access-level is not \
    read-write): set the app permissions to \"Read and write\" in the developer portal, then \
    reconnect the account";
pub const X_MEDIA_PROCESSING: &str = "X could not process the media. X takes videos as MP4 or \
    MOV with H.264 video and AAC audio, 0.5 to 140 seconds, 32x32 to 1280x1024 pixels, an aspect \
    ratio between 1:3 and 3:1 and at most 60 fps (images: JPEG, PNG, GIF or WebP up to 5 MB): \
    re-encode the file to fit and post again";
pub const X_REPLY_NOT_SUMMONED: &str = "X's self-serve API tiers only allow a reply when the \
    post's author summoned the account (mentioned it or quoted one of its posts), so the first \
    comment was refused while the post itself went out. Use an enterprise X API tier, or drop \
    `first_comment` for X targets";
pub const X_DUPLICATE: &str = "X refuses a post identical to a recent one: change the text";
pub const X_FORBIDDEN: &str = "X refused the request: check the app has \"Read and write\" \
    permissions and the token has tweet.write (and media.write for images); reconnect after \
    changing them";

// ---- LinkedIn ----

pub const LINKEDIN_SHARE_PRODUCT: &str = "Request the \"Share on LinkedIn\" product for the \
    personal app in the LinkedIn Developer Portal (approval takes 2-5 business days)";
pub const LINKEDIN_COMPANY_ACCESS: &str = "Company Pages need the \"Community Management API\" \
    product, which requires business verification: check approval and verification in the \
    LinkedIn Developer Portal (review can take several weeks), that the scopes include \
    w_organization_social and r_organization_admin, and that the member is an admin of the page";
pub const LINKEDIN_ACCESS_DENIED: &str = "LinkedIn denied access: check the app's products are \
    approved (\"Share on LinkedIn\" for profiles, \"Community Management API\" for pages), that \
    the connection's app type matches its target, and reconnect";
pub const LINKEDIN_MEDIA_REJECTED: &str = "LinkedIn rejected the image URN (a known issue of its \
    image API): allow the text-only fallback, or retry with the image later";
pub const LINKEDIN_TOKEN: &str = "The LinkedIn token expired or was revoked and LinkedIn issues \
    no refresh tokens to standard apps: reconnect the account";
pub const LINKEDIN_THROTTLED: &str = "LinkedIn's daily limit for this app or member is reached: \
    Herald waits until it resets (midnight UTC)";
pub const LINKEDIN_DUPLICATE: &str =
    "LinkedIn refuses a post identical to a recent one: change the text";
pub const LINKEDIN_VERSION: &str = "LinkedIn retired the configured API version: set \
    platforms.linkedin.version (HERALD_PLATFORMS__LINKEDIN__VERSION) to a current YYYYMM";
pub const LINKEDIN_IMAGE_FAILED: &str = "LinkedIn could not process the image: check it is a JPG, PNG or GIF of at most 5 MB, at \
     least 552x276 pixels, aspect ratio 0.8 to 3.0";
pub const LINKEDIN_VIDEO_FAILED: &str = "LinkedIn could not process the video: it takes MP4 \
    (H.264 or HEVC) of 3 seconds to 30 minutes, 75 KB to 500 MB, aspect ratio 1:2.4 to 2.4:1; \
    convert it and send the post again";
pub const LINKEDIN_VIDEO_URL_EXPIRED: &str = "LinkedIn's video upload URLs expired before every \
    part was sent (a slow link or a long pause): the next attempt starts a new upload";
pub const LINKEDIN_VIDEO_PARTS: &str = "LinkedIn did not accept the video's uploaded parts (a \
    part is missing or its ETag does not match): the next attempt uploads the whole video again";
pub const LINKEDIN_VIDEO_ALONE: &str = "Post the video on its own, or only images (2 to 20)";
pub const LINKEDIN_LEGACY_MEDIA: &str = "The legacy LinkedIn flow posts one image: set \
    platforms.linkedin.flow = current (HERALD_PLATFORMS__LINKEDIN__FLOW) for videos and \
    several images";

// ---- Facebook ----

pub const FACEBOOK_INVALID_SCOPES: &str = "Add the \"Manage everything on your Page\" use case \
    to the Meta app and customize it with the required permissions (public_profile, \
    business_management, pages_show_list, pages_manage_posts, pages_read_engagement)";
pub const FACEBOOK_NO_PAGES: &str = "The account administers no Facebook Page this app can see: \
    the user must be a Page admin (check Page roles in Facebook Business Settings) and grant \
    the app access to the page";
pub const FACEBOOK_PERMISSION: &str = "The app may need App Review for pages_manage_posts \
    (development mode only works for app admins, developers and testers): check the App \
    Review dashboard, and that the user is still an admin of the page";
pub const FACEBOOK_VIDEO_TOO_LARGE: &str = "Facebook takes videos up to 2 GB: compress or \
    shorten the video";
pub const FACEBOOK_VIDEO_TOO_SMALL: &str = "Facebook refuses video files under 1 KB: check that \
    the file is a whole video";
pub const FACEBOOK_VIDEO_UPLOAD: &str = "The video upload was interrupted or its session \
    expired: Herald uploads it again on the next attempt";
pub const FACEBOOK_VIDEO_PROCESSING: &str = "Facebook could not process the video: send an MP4 \
    (H.264 video, AAC audio) or a MOV";
pub const META_TOKEN: &str = "The Meta access token expired or was invalidated: refresh it (long \
    lived token exchange) or reconnect the account";
pub const META_PASSWORD_CHANGED: &str = "The user changed their password or logged out, which invalidates tokens: reconnect the account";
pub const META_APP_REMOVED: &str =
    "The user removed the app or its permissions: reconnect the account and approve the app";
pub const META_CHECKPOINT: &str = "The user must log in to Facebook and clear a security \
    checkpoint, then reconnect the account";
pub const META_UNCONFIRMED: &str = "The user must confirm their Facebook account, then reconnect";
pub const META_NO_PAGE_ROLE: &str = "The user no longer has a role on this Page: an admin must \
    restore it, then reconnect the account";
pub const META_TRANSIENT: &str = "Meta had a temporary problem: Herald retries with backoff";
pub const META_RATE_LIMIT: &str = "Over a Meta rate limit (app, user, page or business use \
    case): Herald waits until usage drops";
pub const META_POLICY_BLOCK: &str = "Meta blocked the post as abusive or against policy: review \
    the content; repeated blocks can restrict the page";
pub const META_DUPLICATE: &str = "Meta refuses a post identical to a recent one: change the text";

// ---- Instagram ----

pub const INSTAGRAM_INVALID_SCOPES: &str = "Instagram publishing needs: 1) Tech Provider status \
    for the Meta app; 2) Business Verification (App Settings -> Business Verification); 3) \
    Instagram permissions added by customizing the \"Manage everything on your Page\" use case \
    (the dashboard is use-case driven: there is no \"Products\" section); 4) Advanced Access for \
    instagram_content_publish (App Review, may wait for verification); then disconnect and \
    reconnect Instagram";
pub const INSTAGRAM_PERMISSION: &str = "Make sure every scope is approved: instagram_basic, \
    instagram_content_publish, instagram_manage_comments (for first comments), pages_show_list, \
    pages_read_engagement, business_management; then reconnect";
pub const INSTAGRAM_NO_ACCOUNT: &str = "No Instagram account found: it must be a Business or \
    Creator account (not personal), linked to a Facebook Page, and the user must be an admin of \
    both the Page and the Instagram account";
pub const INSTAGRAM_NOT_READY: &str =
    "The media container is not finished processing: Herald waits and publishes it then";
pub const INSTAGRAM_IMAGE_URL: &str = "Instagram must fetch the image itself: give it a public \
    URL (Herald's signed media URL, or an image uploaded to the Page's photos)";
pub const INSTAGRAM_IMAGE_REQUIRED: &str =
    "Instagram does not publish text-only posts: attach an image";
pub const INSTAGRAM_DAILY_LIMIT: &str = "Instagram's publishing limit for the last 24 hours is \
    reached: Herald waits until a slot frees";
pub const INSTAGRAM_SPAM: &str =
    "Instagram flagged the account as spam-like: post less often and review the content";
pub const INSTAGRAM_IMAGE_INVALID: &str = "Instagram could not use the image: JPEG, at most \
    8 MB, at least 600x600 pixels, aspect ratio between 4:5 and 1.91:1";
pub const INSTAGRAM_CAPTION: &str =
    "The caption is too long for Instagram (2,200 characters; Herald's default limit is 2,000)";
pub const INSTAGRAM_CONTAINER_EXPIRED: &str = "The media container expired before it was \
    published (containers live 24 hours): submit the post again";
pub const INSTAGRAM_DOWNLOAD_TIMEOUT: &str =
    "Instagram timed out fetching the image: Herald retries; make sure the image host is fast";
pub const INSTAGRAM_VIDEO_INVALID: &str = "Instagram could not process the video as a Reel: it \
    must be MP4 or MOV, H.264 or HEVC video (AAC audio), 3 seconds to 15 minutes, at most 1920 \
    pixels wide, aspect ratio 0.01:1 to 10:1, 23 to 60 fps and at most 300 MB; re-encode it and \
    post again";
pub const INSTAGRAM_VIDEO_DOWNLOAD: &str = "Instagram could not download the video from its \
    URL: Herald's signed media URL must be publicly reachable and fast (check the public base \
    URL); then post again";
pub const INSTAGRAM_CAROUSEL_SIZE: &str = "An Instagram carousel takes 2 to 10 images or videos: \
    remove items or split the post";

// ---- Threads ----

pub const THREADS_VIDEO_DOWNLOAD: &str = "Threads could not download the video from its URL (at \
    most 1 GB): Herald's signed media URL must be publicly reachable and fast; then post again";
pub const THREADS_VIDEO_DURATION: &str =
    "Threads takes videos of at most 5 minutes (300 seconds): trim the video and post again";
pub const THREADS_VIDEO_ASPECT: &str =
    "Threads takes videos with an aspect ratio between 0.01:1 and 10:1: crop or pad the video";
pub const THREADS_VIDEO_FRAME_RATE: &str =
    "Threads takes videos of 23 to 60 frames per second: re-encode the video";
pub const THREADS_VIDEO_AUDIO: &str = "Threads could not process the audio: use AAC, at most 48 \
    kHz, mono or stereo";
pub const THREADS_VIDEO_INVALID: &str = "Threads could not process the video: it must be MP4 or \
    MOV, H.264 or HEVC video (AAC audio), at most 5 minutes, 1920 pixels wide and 25 Mbps, aspect \
    ratio 0.01:1 to 10:1, 23 to 60 fps; re-encode it and post again";
pub const THREADS_IMAGE_INVALID: &str = "Threads could not use the image: JPEG or PNG, at most \
    8 MB, 320 to 1440 pixels wide, aspect ratio up to 10:1";
pub const THREADS_TEXT_INVALID: &str =
    "Threads could not create the post: check the text (at most 500 characters) and post again";
pub const THREADS_CAROUSEL_SIZE: &str =
    "A Threads carousel takes 2 to 20 images or videos: remove items or split the post";

pub const THREADS_NO_ACCOUNT: &str = "Threads account not found: make sure the Threads profile \
    (linked to the Instagram Business Account) exists and the user granted threads_basic and \
    threads_content_publish";
pub const THREADS_TOKEN: &str = "The Threads token expired (long-lived tokens last 60 days and \
    can be refreshed once at least 24 hours old): reconnect the account";

// ---- Telegram ----

pub const TELEGRAM_NOT_ADMIN: &str =
    "Add the bot to the channel as an admin with the \"Post Messages\" permission";
pub const TELEGRAM_CHAT_ID: &str = "Check the chat id: @channelname for public channels, or the \
    numeric id (e.g. -1001234567890) for private ones";
pub const TELEGRAM_BAD_TOKEN: &str = "The bot token is invalid or was revoked: get the current token from @BotFather and \
     connect the channel again";
pub const TELEGRAM_TOO_LONG: &str = "The text is too long for Telegram (4,096 for a message, \
    1,024 for a photo caption; Herald's default message limit is 2,000)";
pub const TELEGRAM_MIGRATED: &str = "The group was upgraded to a supergroup and has a new id: \
    connect the channel again with the id Telegram reported";
pub const TELEGRAM_PHOTO_URL: &str = "Telegram could not fetch the photo URL (at most 5 MB by \
    URL): Herald uploads the file instead when it has the bytes";
pub const TELEGRAM_TOO_LARGE: &str = "Telegram bots may upload files of at most 50 MB: \
    compress the video or send a shorter one";
pub const TELEGRAM_VIDEO: &str = "Telegram plays MPEG4 videos (MP4 with H.264 or HEVC): convert \
    the video to MP4 and post again";
pub const TELEGRAM_NO_DISCUSSION: &str = "Comments on a Telegram channel live in its linked \
    discussion group: link one (channel settings > Discussion), add the bot to it, and connect \
    the channel again; or drop `first_comment` for this channel";
pub const TELEGRAM_RATE: &str = "Telegram flood control: Herald waits the retry_after seconds \
    Telegram asked for (about 1 message per second per chat, 20 per minute per group)";

/// The environment variable prefix of a platform's app (`TWITTER_`, `LINKEDIN_`, ...).
pub(crate) fn env_prefix(platform: Platform) -> &'static str {
    match platform {
        Platform::Twitter => "TWITTER",
        Platform::Linkedin => "LINKEDIN (or LINKEDIN_COMPANY)",
        Platform::Facebook => "FACEBOOK",
        Platform::Instagram => "INSTAGRAM",
        Platform::Threads => "THREADS",
        Platform::Telegram => "TELEGRAM",
    }
}

/// A hint with `{PLATFORM}`/`{platform}` filled in.
pub(crate) fn for_platform(template: &str, platform: Platform) -> String {
    template
        .replace("{PLATFORM}", env_prefix(platform))
        .replace("{platform}", platform.as_str())
}
