//! The people, pages and apps the simulated platforms know about.
//!
//! The defaults are Herald's development credentials (Herald's configuration falls back to
//! them when nothing is configured), so tests and the demo need no set-up: one registered app
//! per platform (two for LinkedIn: personal and company), a default user per platform, a
//! Facebook user whose Page is linked to an Instagram business account, a LinkedIn member who
//! administers one organization, and a Telegram bot that is an admin of one channel and not
//! of another.
//!
//! In a configuration file a list replaces the default list; `POST /_sim/fixtures` adds to
//! the running lists instead. An empty id is filled with a fresh one. The first user of each
//! platform is the one the authorize endpoints pick when no `user` parameter is given.

use serde::{Deserialize, Serialize};

use crate::config::XTier;

/// Which platform an app is registered with. Facebook and Instagram share the Meta app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppPlatform {
    #[serde(alias = "x")]
    Twitter,
    Linkedin,
    #[serde(alias = "facebook", alias = "instagram")]
    Meta,
    Threads,
}

/// A registered OAuth app.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppFixture {
    pub platform: AppPlatform,
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
    /// Allowed redirect URIs; empty accepts any http(s) URI. The token exchange must always
    /// present the URI the authorize call used.
    pub redirect_uris: Vec<String>,
    /// Scopes (permissions) the app may request; empty allows any.
    pub scopes: Vec<String>,
    /// LinkedIn: an approved partner app that receives refresh tokens.
    pub partner: bool,
}

impl Default for AppFixture {
    fn default() -> Self {
        Self {
            platform: AppPlatform::Twitter,
            client_id: String::new(),
            client_secret: String::new(),
            name: String::new(),
            redirect_uris: Vec::new(),
            scopes: Vec::new(),
            partner: false,
        }
    }
}

fn app(platform: AppPlatform, id: &str, name: &str, scopes: &[&str]) -> AppFixture {
    AppFixture {
        platform,
        client_id: id.to_owned(),
        client_secret: format!("{id}-secret"),
        name: name.to_owned(),
        redirect_uris: Vec::new(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        partner: false,
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct XUser {
    pub id: String,
    pub username: String,
    pub name: String,
    /// The developer tier for this user's posts (else `x.tier`).
    pub tier: Option<XTier>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkedInMember {
    /// The OpenID `sub`; the author URN is `urn:li:person:{sub}`.
    pub sub: String,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub picture: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkedInOrganization {
    pub id: String,
    pub name: String,
    pub vanity_name: String,
    /// Members (`sub`) with the ADMINISTRATOR role.
    pub admins: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkedInFixtures {
    pub members: Vec<LinkedInMember>,
    pub organizations: Vec<LinkedInOrganization>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FacebookUser {
    pub id: String,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FacebookPage {
    pub id: String,
    pub name: String,
    pub category: String,
    /// Facebook user ids with a role on the Page.
    pub admins: Vec<String>,
    /// The linked Instagram business account, if any.
    pub instagram_business_account: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FacebookFixtures {
    pub users: Vec<FacebookUser>,
    pub pages: Vec<FacebookPage>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InstagramAccount {
    pub id: String,
    pub username: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThreadsUser {
    pub id: String,
    pub username: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramBot {
    pub token: String,
    pub id: i64,
    pub username: String,
    pub first_name: String,
}

/// A bot's (or user's) standing in a chat, as `getChatMember` reports it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramMember {
    pub user_id: i64,
    /// creator | administrator | member | restricted | left | kicked
    pub status: String,
    pub can_post_messages: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramChat {
    pub id: i64,
    /// Without the `@`.
    pub username: Option<String>,
    pub title: String,
    /// channel | supergroup | group
    #[serde(rename = "type")]
    pub kind: String,
    pub members: Vec<TelegramMember>,
    /// A channel's discussion group, or a discussion group's channel (`getChat`'s
    /// `linked_chat_id`, set on both sides). A channel's comments live in its group.
    pub linked_chat_id: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramFixtures {
    pub bots: Vec<TelegramBot>,
    pub chats: Vec<TelegramChat>,
}

/// Everyone the simulated platforms know.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fixtures {
    pub apps: Vec<AppFixture>,
    pub twitter: Vec<XUser>,
    pub linkedin: LinkedInFixtures,
    pub facebook: FacebookFixtures,
    pub instagram: Vec<InstagramAccount>,
    pub threads: Vec<ThreadsUser>,
    pub telegram: TelegramFixtures,
}

/// The development bot's token (Herald's default when no bot is configured).
pub const DEV_BOT_TOKEN: &str = "7000000001:AAHeraldDevBotToken0000000000000000000";
/// The channel where the development bot is an admin that may post.
pub const DEV_CHANNEL_ID: i64 = -1_001_000_000_001;
/// A channel the development bot is not an admin of (posting answers 403).
pub const CLOSED_CHANNEL_ID: i64 = -1_001_000_000_002;
/// The discussion group linked to [`DEV_CHANNEL_ID`], where its comments live; the
/// development bot is a member.
pub const DEV_DISCUSSION_ID: i64 = -1_001_000_000_003;
/// A channel where the development bot may post but that has no discussion group (so no
/// comments).
pub const UNLINKED_CHANNEL_ID: i64 = -1_001_000_000_004;

impl Default for Fixtures {
    fn default() -> Self {
        let personal = ["openid", "profile", "email", "w_member_social"];
        let company = [
            "openid",
            "profile",
            "email",
            "w_member_social",
            "w_organization_social",
            "r_organization_social",
            "r_organization_admin",
        ];
        Self {
            apps: vec![
                app(
                    AppPlatform::Twitter,
                    "herald-dev-twitter",
                    "Herald (dev)",
                    &[],
                ),
                app(
                    AppPlatform::Linkedin,
                    "herald-dev-linkedin",
                    "Herald personal (dev)",
                    &personal,
                ),
                app(
                    AppPlatform::Linkedin,
                    "herald-dev-linkedin-company",
                    "Herald company (dev)",
                    &company,
                ),
                app(
                    AppPlatform::Meta,
                    "herald-dev-facebook",
                    "Herald (dev)",
                    &[],
                ),
                app(
                    AppPlatform::Threads,
                    "herald-dev-threads",
                    "Herald (dev)",
                    &[],
                ),
            ],
            twitter: vec![
                XUser {
                    id: "1790000000000000001".to_owned(),
                    username: "herald_dev".to_owned(),
                    name: "Herald Dev".to_owned(),
                    tier: None,
                },
                XUser {
                    id: "1790000000000000002".to_owned(),
                    username: "herald_alt".to_owned(),
                    name: "Herald Alt".to_owned(),
                    tier: None,
                },
            ],
            linkedin: LinkedInFixtures {
                members: vec![
                    LinkedInMember {
                        sub: "hrldDev01".to_owned(),
                        name: "Herald Dev".to_owned(),
                        given_name: "Herald".to_owned(),
                        family_name: "Dev".to_owned(),
                        email: "dev@herald.test".to_owned(),
                        picture: "https://media.licdn.test/herald-dev.jpg".to_owned(),
                    },
                    LinkedInMember {
                        sub: "hrldAlt02".to_owned(),
                        name: "Herald Alt".to_owned(),
                        given_name: "Herald".to_owned(),
                        family_name: "Alt".to_owned(),
                        email: "alt@herald.test".to_owned(),
                        picture: "https://media.licdn.test/herald-alt.jpg".to_owned(),
                    },
                ],
                organizations: vec![LinkedInOrganization {
                    id: "100000001".to_owned(),
                    name: "Herald Dev Co".to_owned(),
                    vanity_name: "herald-dev-co".to_owned(),
                    admins: vec!["hrldDev01".to_owned()],
                }],
            },
            facebook: FacebookFixtures {
                users: vec![
                    FacebookUser {
                        id: "100000000000001".to_owned(),
                        name: "Herald Dev".to_owned(),
                        email: "dev@herald.test".to_owned(),
                    },
                    FacebookUser {
                        id: "100000000000002".to_owned(),
                        name: "Herald No Pages".to_owned(),
                        email: "nopages@herald.test".to_owned(),
                    },
                ],
                pages: vec![FacebookPage {
                    id: "200000000000001".to_owned(),
                    name: "Herald Dev Page".to_owned(),
                    category: "Software".to_owned(),
                    admins: vec!["100000000000001".to_owned()],
                    instagram_business_account: Some("17841400000000001".to_owned()),
                }],
            },
            instagram: vec![InstagramAccount {
                id: "17841400000000001".to_owned(),
                username: "herald_dev_ig".to_owned(),
                name: "Herald Dev".to_owned(),
            }],
            threads: vec![
                ThreadsUser {
                    id: "27000000000000001".to_owned(),
                    username: "herald_dev_threads".to_owned(),
                    name: "Herald Dev".to_owned(),
                },
                ThreadsUser {
                    id: "27000000000000002".to_owned(),
                    username: "herald_alt_threads".to_owned(),
                    name: "Herald Alt".to_owned(),
                },
            ],
            telegram: TelegramFixtures {
                bots: vec![TelegramBot {
                    token: DEV_BOT_TOKEN.to_owned(),
                    id: 7_000_000_001,
                    username: "herald_dev_bot".to_owned(),
                    first_name: "Herald Dev Bot".to_owned(),
                }],
                chats: vec![
                    TelegramChat {
                        id: DEV_CHANNEL_ID,
                        username: Some("herald_dev_channel".to_owned()),
                        title: "Herald Dev Channel".to_owned(),
                        kind: "channel".to_owned(),
                        members: vec![TelegramMember {
                            user_id: 7_000_000_001,
                            status: "administrator".to_owned(),
                            can_post_messages: true,
                        }],
                        linked_chat_id: Some(DEV_DISCUSSION_ID),
                    },
                    TelegramChat {
                        id: CLOSED_CHANNEL_ID,
                        username: Some("herald_closed_channel".to_owned()),
                        title: "Herald Closed Channel".to_owned(),
                        kind: "channel".to_owned(),
                        members: Vec::new(),
                        linked_chat_id: None,
                    },
                    TelegramChat {
                        id: DEV_DISCUSSION_ID,
                        username: None,
                        title: "Herald Dev Channel Chat".to_owned(),
                        kind: "supergroup".to_owned(),
                        members: vec![TelegramMember {
                            user_id: 7_000_000_001,
                            status: "member".to_owned(),
                            can_post_messages: false,
                        }],
                        linked_chat_id: Some(DEV_CHANNEL_ID),
                    },
                    TelegramChat {
                        id: UNLINKED_CHANNEL_ID,
                        username: Some("herald_unlinked_channel".to_owned()),
                        title: "Herald Unlinked Channel".to_owned(),
                        kind: "channel".to_owned(),
                        members: vec![TelegramMember {
                            user_id: 7_000_000_001,
                            status: "administrator".to_owned(),
                            can_post_messages: true,
                        }],
                        linked_chat_id: None,
                    },
                ],
            },
        }
    }
}

impl Fixtures {
    /// Gives every fixture without an id a fresh one (`next` yields unique numbers).
    pub(crate) fn fill_ids(&mut self, next: &mut impl FnMut() -> u64) {
        for user in &mut self.twitter {
            fill(&mut user.id, || format!("179{:016}", next()));
            fill(&mut user.username, || format!("user{}", user.id));
            fill(&mut user.name, || user.username.clone());
        }
        for member in &mut self.linkedin.members {
            fill(&mut member.sub, || format!("sim{:08}", next()));
            fill(&mut member.name, || format!("Member {}", member.sub));
        }
        for org in &mut self.linkedin.organizations {
            fill(&mut org.id, || format!("1{:08}", next()));
            fill(&mut org.name, || format!("Organization {}", org.id));
            fill(&mut org.vanity_name, || format!("org-{}", org.id));
        }
        for user in &mut self.facebook.users {
            fill(&mut user.id, || format!("1{:014}", next()));
            fill(&mut user.name, || format!("User {}", user.id));
        }
        for page in &mut self.facebook.pages {
            fill(&mut page.id, || format!("2{:014}", next()));
            fill(&mut page.name, || format!("Page {}", page.id));
            fill(&mut page.category, || "Brand".to_owned());
        }
        for account in &mut self.instagram {
            fill(&mut account.id, || format!("178414{:011}", next()));
            fill(&mut account.username, || format!("ig{}", account.id));
        }
        for user in &mut self.threads {
            fill(&mut user.id, || format!("27{:015}", next()));
            fill(&mut user.username, || format!("threads{}", user.id));
        }
        for bot in &mut self.telegram.bots {
            if bot.id == 0 {
                bot.id = 7_100_000_000 + next() as i64;
            }
            fill(&mut bot.token, || {
                format!("{}:AASimBotToken{:025}", bot.id, next())
            });
            fill(&mut bot.username, || format!("sim{}_bot", bot.id));
            fill(&mut bot.first_name, || bot.username.clone());
        }
        for chat in &mut self.telegram.chats {
            if chat.id == 0 {
                chat.id = -1_002_000_000_000 - next() as i64;
            }
            fill(&mut chat.kind, || "channel".to_owned());
            fill(&mut chat.title, || format!("Chat {}", chat.id));
        }
    }

    /// Appends `more` (ids already filled) to these lists.
    pub(crate) fn extend(&mut self, more: Fixtures) {
        self.apps.extend(more.apps);
        self.twitter.extend(more.twitter);
        self.linkedin.members.extend(more.linkedin.members);
        self.linkedin
            .organizations
            .extend(more.linkedin.organizations);
        self.facebook.users.extend(more.facebook.users);
        self.facebook.pages.extend(more.facebook.pages);
        self.instagram.extend(more.instagram);
        self.threads.extend(more.threads);
        self.telegram.bots.extend(more.telegram.bots);
        self.telegram.chats.extend(more.telegram.chats);
    }

    /// An empty set, the base of a `POST /_sim/fixtures` body.
    pub(crate) fn empty() -> Self {
        Self {
            apps: Vec::new(),
            twitter: Vec::new(),
            linkedin: LinkedInFixtures::default(),
            facebook: FacebookFixtures::default(),
            instagram: Vec::new(),
            threads: Vec::new(),
            telegram: TelegramFixtures::default(),
        }
    }

    /// Lets the app `client_id` request `scope` (a permission it lacks by default, such as
    /// LinkedIn's `r_member_social`, closed to new apps). An app whose list is empty already
    /// allows any scope; an unknown app is left alone.
    pub fn grant_scope(&mut self, client_id: &str, scope: &str) -> &mut Self {
        if let Some(app) = self.apps.iter_mut().find(|a| a.client_id == client_id)
            && !app.scopes.is_empty()
            && !app.scopes.iter().any(|s| s == scope)
        {
            app.scopes.push(scope.to_owned());
        }
        self
    }

    pub(crate) fn app(&self, client_id: &str) -> Option<&AppFixture> {
        self.apps.iter().find(|app| app.client_id == client_id)
    }

    pub(crate) fn x_user(&self, id: &str) -> Option<&XUser> {
        self.twitter.iter().find(|user| user.id == id)
    }

    pub(crate) fn linkedin_member(&self, sub: &str) -> Option<&LinkedInMember> {
        self.linkedin.members.iter().find(|m| m.sub == sub)
    }

    pub(crate) fn facebook_page(&self, id: &str) -> Option<&FacebookPage> {
        self.facebook.pages.iter().find(|page| page.id == id)
    }

    pub(crate) fn instagram_account(&self, id: &str) -> Option<&InstagramAccount> {
        self.instagram.iter().find(|account| account.id == id)
    }

    /// The Page an Instagram account is linked to.
    pub(crate) fn page_of_instagram(&self, ig: &str) -> Option<&FacebookPage> {
        self.facebook
            .pages
            .iter()
            .find(|page| page.instagram_business_account.as_deref() == Some(ig))
    }

    pub(crate) fn threads_user(&self, id: &str) -> Option<&ThreadsUser> {
        self.threads.iter().find(|user| user.id == id)
    }
}

fn fill(field: &mut String, make: impl FnOnce() -> String) {
    if field.is_empty() {
        *field = make();
    }
}
