// @generated automatically by Diesel CLI.

diesel::table! {
    users (id) {
        id -> Uuid,
        clerk_id -> Text,
        email -> Nullable<Text>,
        name -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}
