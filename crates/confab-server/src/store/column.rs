//! Typed values in and out of the database: ids as BIGINT, the wire crate's enums as TEXT.
//!
//! The one place where the store's typed values meet the integers and strings sqlx's `Any`
//! driver carries. Queries bind `Db(value)`; rows decode `Db<T>` (a tuple element, or a field
//! with `#[sqlx(try_from = "Db<T>")]`). Each enum has one table of names here, read both ways,
//! so the names written and the names read cannot drift apart. A stored name no table knows is
//! a decode error, not a silent default: the store writes only names from these tables.

use confab_proto::media::{UploadPurpose, UploadState};
use confab_proto::rest::{
    ChosenStatus, ConversationKind, InvitationState, MessageKind, NotificationKind, NotificationLevel, Role,
};
use confab_proto::{AttachmentId, ConversationId, MessageId, SessionId, StickerId, StickerPackId, UploadId, UserId};
use sqlx::any::{Any, AnyTypeInfo};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

/// A typed value on its way to or from a column.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Db<T>(pub T);

/// A type stored in one column as a value of `Raw` (i64 or String, or an `Option` of one).
pub(crate) trait Column: Sized {
    type Raw: for<'q> Encode<'q, Any> + for<'r> Decode<'r, Any> + Type<Any> + 'static;
    fn to_raw(&self) -> Self::Raw;
    fn from_raw(raw: Self::Raw) -> Result<Self, BoxDynError>;
}

impl<T: Column> Column for Option<T> {
    type Raw = Option<T::Raw>;
    fn to_raw(&self) -> Self::Raw {
        self.as_ref().map(T::to_raw)
    }
    fn from_raw(raw: Self::Raw) -> Result<Self, BoxDynError> {
        raw.map(T::from_raw).transpose()
    }
}

impl<T: Column> Type<Any> for Db<T> {
    fn type_info() -> AnyTypeInfo {
        <T::Raw as Type<Any>>::type_info()
    }
    fn compatible(ty: &AnyTypeInfo) -> bool {
        <T::Raw as Type<Any>>::compatible(ty)
    }
}

impl<T: Column> Encode<'_, Any> for Db<T> {
    fn encode_by_ref(&self, buf: &mut <Any as Database>::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        self.0.to_raw().encode(buf)
    }
}

impl<'r, T: Column> Decode<'r, Any> for Db<T> {
    fn decode(value: <Any as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        T::from_raw(<T::Raw as Decode<'r, Any>>::decode(value)?).map(Db)
    }
}

/// `From<Db<T>>` for `T` and `Option<T>`, which `#[sqlx(try_from)]` needs (a blanket impl over
/// every `T` is not allowed: the type is the wire crate's).
macro_rules! unwrapped {
    ($ty:ident) => {
        impl From<Db<$ty>> for $ty {
            fn from(Db(value): Db<$ty>) -> $ty {
                value
            }
        }
        impl From<Db<Option<$ty>>> for Option<$ty> {
            fn from(Db(value): Db<Option<$ty>>) -> Option<$ty> {
                value
            }
        }
    };
}

macro_rules! id_column {
    ($($id:ident),+) => {$(
        impl Column for $id {
            type Raw = i64;
            fn to_raw(&self) -> i64 {
                self.0
            }
            fn from_raw(raw: i64) -> Result<Self, BoxDynError> {
                Ok($id(raw))
            }
        }
        unwrapped!($id);
    )+};
}

id_column!(UserId, ConversationId, MessageId, SessionId, UploadId, AttachmentId, StickerPackId, StickerId);

/// An enum stored as TEXT under the names of its table.
pub trait Named: Copy {
    /// The name stored in the database (the same one the wire carries).
    fn name(self) -> &'static str;
    fn from_name(name: &str) -> Option<Self>;
}

macro_rules! text_column {
    ($ty:ident { $($variant:ident = $name:literal),+ $(,)? }) => {
        impl Named for $ty {
            fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }
            fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some($ty::$variant),)+
                    _ => None,
                }
            }
        }
        impl Column for $ty {
            type Raw = String;
            fn to_raw(&self) -> String {
                self.name().to_owned()
            }
            fn from_raw(raw: String) -> Result<Self, BoxDynError> {
                $ty::from_name(&raw)
                    .ok_or_else(|| format!("{:?} is not a stored {}", raw, stringify!($ty)).into())
            }
        }
        unwrapped!($ty);
    };
}

text_column!(ConversationKind { Direct = "direct", Group = "group" });
text_column!(Role { Owner = "owner", Admin = "admin", Member = "member" });
text_column!(MessageKind { Text = "text", System = "system", Invitation = "invitation", Sticker = "sticker" });
text_column!(InvitationState {
    Pending = "pending",
    Accepted = "accepted",
    Declined = "declined",
    Cancelled = "cancelled",
    Expired = "expired",
    Failed = "failed",
});
text_column!(ChosenStatus { Online = "online", Away = "away", Dnd = "dnd", Invisible = "invisible" });
text_column!(NotificationLevel { All = "all", Mentions = "mentions", None = "none" });
text_column!(NotificationKind {
    Mention = "mention",
    Reply = "reply",
    Invitation = "invitation",
    InvitationUpdate = "invitation_update",
    ContactRequest = "contact_request",
    ContactAccepted = "contact_accepted",
    DirectMessage = "direct_message",
});
text_column!(UploadPurpose { Attachment = "attachment", Avatar = "avatar" });
text_column!(UploadState { Open = "open", Complete = "complete", Used = "used" });

#[cfg(test)]
mod tests {
    use super::*;

    /// Every stored name reads back as its variant, and is the name the wire carries: the web
    /// client and the database have always used the same words.
    fn round_trips<T: Named + PartialEq + std::fmt::Debug + serde::Serialize>(all: &[T]) {
        for value in all {
            assert_eq!(T::from_name(value.name()), Some(*value));
            assert_eq!(serde_json::to_value(value).unwrap(), serde_json::json!(value.name()));
        }
    }

    #[test]
    fn names_round_trip_and_match_the_wire() {
        use ConversationKind as K;
        round_trips(&[K::Direct, K::Group]);
        round_trips(&[Role::Owner, Role::Admin, Role::Member]);
        round_trips(&[MessageKind::Text, MessageKind::System, MessageKind::Invitation]);
        use InvitationState as I;
        round_trips(&[I::Pending, I::Accepted, I::Declined, I::Cancelled, I::Expired, I::Failed]);
        round_trips(&[ChosenStatus::Online, ChosenStatus::Away, ChosenStatus::Dnd, ChosenStatus::Invisible]);
        round_trips(&[NotificationLevel::All, NotificationLevel::Mentions, NotificationLevel::None]);
        use NotificationKind as N;
        round_trips(&[
            N::Mention,
            N::Reply,
            N::Invitation,
            N::InvitationUpdate,
            N::ContactRequest,
            N::ContactAccepted,
            N::DirectMessage,
        ]);
        round_trips(&[UploadPurpose::Attachment, UploadPurpose::Avatar]);
        round_trips(&[UploadState::Open, UploadState::Complete, UploadState::Used]);
    }

    #[test]
    fn unknown_names_are_decode_errors() {
        assert!(Role::from_raw("superuser".to_owned()).is_err());
        assert!(MessageKind::from_raw(String::new()).is_err());
        assert_eq!(Option::<Role>::from_raw(None).unwrap(), None);
        assert_eq!(UserId::from_raw(7).unwrap(), UserId(7));
        assert_eq!(Some(ConversationId(9)).to_raw(), Some(9));
    }
}
