//! The attribute model of RFC 7643 for the resources the bridge serves.
//!
//! One table drives everything schema-shaped: case-insensitive attribute names, which
//! attributes are read-only, which compare case-exactly in filters, the `/Schemas` document
//! and the order attributes appear in responses. Keeping it as data means discovery can never
//! disagree with behaviour.

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Pre-RFC spellings of the core schema (the SCIM 1.x and early 2.0 drafts), still sent by
/// OneLogin's "SCIM Provisioner with SAML (SCIM v2 Enterprise)" template. They name the core
/// schema of whatever resource they appear in, User or Group.
pub const LEGACY_CORE_SCHEMAS: &[&str] =
    &["urn:scim:schemas:core:2.0", "urn:scim:schemas:core:1.0"];
/// Pre-RFC spellings of the enterprise User extension, sent by the same template.
pub const LEGACY_ENTERPRISE_SCHEMAS: &[&str] = &[
    "urn:scim:schemas:extension:enterprise:2.0",
    "urn:scim:schemas:extension:enterprise:1.0",
];

/// What a legacy schema URN stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legacy {
    /// The core schema of the resource at hand.
    Core,
    /// [`ENTERPRISE_USER_SCHEMA`].
    Enterprise,
}

/// Whether `urn` is a legacy alias, and of what (case-insensitively). Requests may use these;
/// responses always carry the RFC 7643 URNs.
pub fn legacy(urn: &str) -> Option<Legacy> {
    let is = |list: &[&str]| list.iter().any(|l| l.eq_ignore_ascii_case(urn));
    if is(LEGACY_CORE_SCHEMAS) {
        Some(Legacy::Core)
    } else if is(LEGACY_ENTERPRISE_SCHEMAS) {
        Some(Legacy::Enterprise)
    } else {
        None
    }
}

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Reference,
    Complex,
    Binary,
}

impl AttrType {
    /// The type a mapping's `[extensions]` may declare, by its RFC 7643 name (any case).
    pub fn parse_simple(name: &str) -> Option<AttrType> {
        [
            AttrType::String,
            AttrType::Boolean,
            AttrType::Decimal,
            AttrType::Integer,
            AttrType::DateTime,
            AttrType::Reference,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(name))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
            AttrType::Binary => "binary",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

impl Returned {
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

/// One attribute definition (RFC 7643 §7).
#[derive(Debug, Clone, Copy)]
pub struct AttrDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    /// `server` uniqueness when true, `none` otherwise.
    pub unique: bool,
    pub canonical: &'static [&'static str],
    pub sub: &'static [AttrDef],
    pub description: &'static str,
}

impl AttrDef {
    /// Finds a sub-attribute by name, case-insensitively (RFC 7643 §2.1).
    pub fn sub_attr(&self, name: &str) -> Option<&'static AttrDef> {
        self.sub.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }
    pub fn is_read_only(&self) -> bool {
        self.mutability == Mutability::ReadOnly
    }
}

const fn attr(name: &'static str, ty: AttrType, description: &'static str) -> AttrDef {
    AttrDef {
        name,
        ty,
        multi: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        unique: false,
        canonical: &[],
        sub: &[],
        description,
    }
}

const fn s(name: &'static str, description: &'static str) -> AttrDef {
    attr(name, AttrType::String, description)
}

const fn complex(
    name: &'static str,
    sub: &'static [AttrDef],
    description: &'static str,
) -> AttrDef {
    let mut a = attr(name, AttrType::Complex, description);
    a.sub = sub;
    a
}

const fn multi(mut a: AttrDef) -> AttrDef {
    a.multi = true;
    a
}

const fn read_only(mut a: AttrDef) -> AttrDef {
    a.mutability = Mutability::ReadOnly;
    a
}

const fn case_exact(mut a: AttrDef) -> AttrDef {
    a.case_exact = true;
    a
}

const fn canonical(mut a: AttrDef, values: &'static [&'static str]) -> AttrDef {
    a.canonical = values;
    a
}

const TYPE_WORK_HOME_OTHER: &[&str] = &["work", "home", "other"];

/// `value`, `display`, `type` and `primary`: the shape shared by emails, phone numbers and
/// the other plural attributes.
const fn plural_sub(value_desc: &'static str, types: &'static [&'static str]) -> [AttrDef; 4] {
    [
        s("value", value_desc),
        s(
            "display",
            "A human-readable name, primarily used for display purposes.",
        ),
        canonical(
            s("type", "A label indicating the attribute's function."),
            types,
        ),
        attr(
            "primary",
            AttrType::Boolean,
            "Whether this is the primary value of the attribute.",
        ),
    ]
}

const NAME_SUB: &[AttrDef] = &[
    s("formatted", "The full name, formatted for display."),
    s(
        "familyName",
        "The family name (last name in most Western languages).",
    ),
    s(
        "givenName",
        "The given name (first name in most Western languages).",
    ),
    s("middleName", "The middle name(s)."),
    s("honorificPrefix", "The honorific prefix(es), e.g. 'Ms.'."),
    s("honorificSuffix", "The honorific suffix(es), e.g. 'III'."),
];

const EMAIL_SUB: &[AttrDef] = &plural_sub("Email address for the user.", TYPE_WORK_HOME_OTHER);
const PHONE_SUB: &[AttrDef] = &plural_sub(
    "Phone number for the user.",
    &["work", "home", "mobile", "fax", "pager", "other"],
);
const IMS_SUB: &[AttrDef] = &plural_sub("Instant messaging address for the user.", &[]);
const PHOTO_SUB: &[AttrDef] = &plural_sub("URL of a photo of the user.", &["photo", "thumbnail"]);
const PLAIN_SUB: &[AttrDef] = &plural_sub("The value.", &[]);

const ADDRESS_SUB: &[AttrDef] = &[
    s(
        "formatted",
        "The full mailing address, formatted for display.",
    ),
    s("streetAddress", "The full street address component."),
    s("locality", "The city or locality component."),
    s("region", "The state or region component."),
    s("postalCode", "The zip code or postal code component."),
    s("country", "The country name component."),
    canonical(
        s("type", "A label indicating the attribute's function."),
        TYPE_WORK_HOME_OTHER,
    ),
    attr(
        "primary",
        AttrType::Boolean,
        "Whether this is the primary address.",
    ),
];

const GROUP_REF_SUB: &[AttrDef] = &[
    read_only(s("value", "The identifier of the user's group.")),
    read_only(attr("$ref", AttrType::Reference, "The URI of the group.")),
    read_only(s("display", "A human-readable name of the group.")),
    read_only(canonical(
        s("type", "How the membership was derived."),
        &["direct", "indirect"],
    )),
];

const META_SUB: &[AttrDef] = &[
    read_only(case_exact(s(
        "resourceType",
        "The name of the resource type.",
    ))),
    read_only(attr(
        "created",
        AttrType::DateTime,
        "When the resource was added.",
    )),
    read_only(attr(
        "lastModified",
        AttrType::DateTime,
        "When the resource was last updated.",
    )),
    read_only(case_exact(attr(
        "location",
        AttrType::Reference,
        "The URI of the resource.",
    ))),
    read_only(case_exact(s(
        "version",
        "The version (ETag) of the resource.",
    ))),
];

/// `id`, `externalId` and `meta` (RFC 7643 §3.1), shared by every resource type.
pub const ID: AttrDef = {
    let mut a = read_only(case_exact(s(
        "id",
        "Unique identifier assigned by the service provider.",
    )));
    a.returned = Returned::Always;
    a.unique = true;
    a
};
pub const EXTERNAL_ID: AttrDef = case_exact(s(
    "externalId",
    "Identifier assigned by the provisioning client.",
));
pub const META: AttrDef = read_only(complex("meta", META_SUB, "Resource metadata."));

pub const USER_ATTRS: &[AttrDef] = &[
    {
        let mut a = s(
            "userName",
            "Unique identifier for the user, used to sign in; compared case-insensitively.",
        );
        a.required = true;
        a.unique = true;
        a
    },
    complex("name", NAME_SUB, "The components of the user's real name."),
    s("displayName", "The name of the user, suitable for display."),
    s("nickName", "The casual way to address the user."),
    attr(
        "profileUrl",
        AttrType::Reference,
        "A URI of the user's online profile.",
    ),
    s("title", "The user's title, such as 'Vice President'."),
    s(
        "userType",
        "The relationship between the organization and the user.",
    ),
    s(
        "preferredLanguage",
        "The user's preferred written or spoken language.",
    ),
    s("locale", "The user's default location, e.g. 'en-US'."),
    s(
        "timezone",
        "The user's time zone in IANA format, e.g. 'America/Los_Angeles'.",
    ),
    attr(
        "active",
        AttrType::Boolean,
        "The user's administrative status.",
    ),
    {
        let mut a = case_exact(s("password", "Never stored or returned by this bridge."));
        a.mutability = Mutability::WriteOnly;
        a.returned = Returned::Never;
        a
    },
    multi(complex(
        "emails",
        EMAIL_SUB,
        "Email addresses for the user.",
    )),
    multi(complex(
        "phoneNumbers",
        PHONE_SUB,
        "Phone numbers for the user.",
    )),
    multi(complex(
        "ims",
        IMS_SUB,
        "Instant messaging addresses for the user.",
    )),
    multi(complex("photos", PHOTO_SUB, "URLs of photos of the user.")),
    multi(complex(
        "addresses",
        ADDRESS_SUB,
        "Physical mailing addresses for the user.",
    )),
    read_only(multi(complex(
        "groups",
        GROUP_REF_SUB,
        "The groups the user belongs to.",
    ))),
    multi(complex(
        "entitlements",
        PLAIN_SUB,
        "Entitlements of the user.",
    )),
    multi(complex("roles", PLAIN_SUB, "Roles of the user.")),
    multi(complex(
        "x509Certificates",
        PLAIN_SUB,
        "Certificates issued to the user.",
    )),
];

pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Microsoft Entra ID lists this URN in the `schemas` of the groups it creates; it carries no
/// attributes, so it is accepted and ignored.
pub const ENTRA_GROUP_SCHEMA: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

const MEMBER_SUB: &[AttrDef] = &[
    {
        let mut a = case_exact(s("value", "The id of a member (a User)."));
        a.mutability = Mutability::Immutable;
        a
    },
    {
        let mut a = attr("$ref", AttrType::Reference, "The URI of the member.");
        a.mutability = Mutability::Immutable;
        a
    },
    read_only(s("display", "The member's userName.")),
    {
        let mut a = canonical(s("type", "The type of the member."), &["User"]);
        a.mutability = Mutability::Immutable;
        a
    },
];

pub const GROUP_ATTRS: &[AttrDef] = &[
    {
        let mut a = s(
            "displayName",
            "A human-readable name for the group; unique, compared case-insensitively.",
        );
        a.required = true;
        a.unique = true;
        a
    },
    multi(complex("members", MEMBER_SUB, "The members of the group.")),
];

const MANAGER_SUB: &[AttrDef] = &[
    s("value", "The id of the user's manager."),
    attr("$ref", AttrType::Reference, "The URI of the manager."),
    read_only(s("displayName", "The display name of the manager.")),
];

pub const ENTERPRISE_USER_ATTRS: &[AttrDef] = &[
    s(
        "employeeNumber",
        "Numeric or alphanumeric identifier assigned to a person.",
    ),
    s("costCenter", "Identifies the name of a cost center."),
    s("organization", "Identifies the name of an organization."),
    s("division", "Identifies the name of a division."),
    s("department", "Identifies the name of a department."),
    complex("manager", MANAGER_SUB, "The user's manager."),
];

/// A schema the bridge answers for: its URN, name and attributes.
#[derive(Debug, Clone)]
pub struct SchemaDef {
    pub id: String,
    pub name: String,
    pub description: String,
    pub attrs: Vec<AttrDef>,
}

/// Finds a top-level attribute among `attrs` case-insensitively.
pub fn find_attr<'a>(attrs: &'a [AttrDef], name: &str) -> Option<&'a AttrDef> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// Common attributes (`id`, `externalId`, `meta`) by name.
pub fn common_attr(name: &str) -> Option<&'static AttrDef> {
    [&ID, &EXTERNAL_ID, &META]
        .into_iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

/// A custom (Okta profile-editor style) string attribute declared by the mapping.
pub fn custom_string_attr(name: &str) -> AttrDef {
    custom_attr(name, AttrType::String, false)
}

/// A custom attribute of a declared type (`[extensions]` in the mapping), single- or
/// multi-valued; read-write, not case-exact, never required.
pub fn custom_attr(name: &str, ty: AttrType, multi: bool) -> AttrDef {
    // Leaked once per declared attribute at start-up; the set is fixed for the process.
    let name: &'static str = Box::leak(name.to_string().into_boxed_str());
    let mut a = attr(name, ty, "Custom attribute declared by the active mapping.");
    a.multi = multi;
    a
}

/// A custom extension of the User resource: its URN and typed attributes.
pub type CustomSchema = (String, Vec<AttrDef>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_case_insensitive() {
        assert_eq!(find_attr(USER_ATTRS, "USERNAME").unwrap().name, "userName");
        let name = find_attr(USER_ATTRS, "name").unwrap();
        assert_eq!(name.sub_attr("GIVENNAME").unwrap().name, "givenName");
        assert!(common_attr("Meta").unwrap().is_read_only());
        assert!(find_attr(USER_ATTRS, "groups").unwrap().is_read_only());
        assert!(find_attr(USER_ATTRS, "nope").is_none());
    }

    #[test]
    fn legacy_aliases() {
        assert_eq!(legacy("urn:scim:schemas:core:2.0"), Some(Legacy::Core));
        assert_eq!(legacy("URN:SCIM:SCHEMAS:CORE:1.0"), Some(Legacy::Core));
        assert_eq!(
            legacy("urn:scim:schemas:extension:enterprise:2.0"),
            Some(Legacy::Enterprise)
        );
        assert_eq!(
            legacy("urn:scim:schemas:extension:enterprise:1.0"),
            Some(Legacy::Enterprise)
        );
        assert_eq!(legacy(USER_SCHEMA), None);
        assert_eq!(legacy("urn:scim:schemas:core:3.0"), None);
    }

    #[test]
    fn case_exactness_follows_rfc7643() {
        assert!(!find_attr(USER_ATTRS, "userName").unwrap().case_exact);
        assert!(common_attr("externalid").unwrap().case_exact);
        assert!(common_attr("ID").unwrap().case_exact);
        assert!(
            !find_attr(USER_ATTRS, "emails")
                .unwrap()
                .sub_attr("value")
                .unwrap()
                .case_exact
        );
    }
}
