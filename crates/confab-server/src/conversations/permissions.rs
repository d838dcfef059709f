//! Who may do what in a group. The table in docs/protocol.md is this function.

use confab_proto::rest::Role;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupAction {
    /// Rename, set the topic or the avatar.
    EditInfo,
    AddMembers,
    /// Remove a member who has the given role.
    Remove(Role),
    /// Promote, demote, transfer ownership.
    SetRoles,
    Delete,
    Pin,
    /// Delete messages written by others.
    ModerateMessages,
    ReadAudit,
}

pub fn allowed(actor: Role, action: GroupAction) -> bool {
    use GroupAction::*;
    match (actor, action) {
        (Role::Owner, Remove(Role::Owner)) => false, // the owner leaves only by handing over
        (Role::Owner, _) => true,
        (Role::Admin, EditInfo | AddMembers | Pin | ModerateMessages | ReadAudit) => true,
        (Role::Admin, Remove(Role::Member)) => true,
        (Role::Admin, _) => false,
        (Role::Member, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        assert!(allowed(Role::Owner, GroupAction::Delete));
        assert!(allowed(Role::Owner, GroupAction::Remove(Role::Admin)));
        assert!(!allowed(Role::Owner, GroupAction::Remove(Role::Owner)));
        assert!(allowed(Role::Admin, GroupAction::Remove(Role::Member)));
        assert!(!allowed(Role::Admin, GroupAction::Remove(Role::Admin)));
        assert!(!allowed(Role::Admin, GroupAction::SetRoles));
        assert!(!allowed(Role::Admin, GroupAction::Delete));
        for action in [GroupAction::EditInfo, GroupAction::AddMembers, GroupAction::Pin, GroupAction::Delete] {
            assert!(!allowed(Role::Member, action));
        }
    }
}
