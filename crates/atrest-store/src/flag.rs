/// A boolean column: 0 or 1 in a 64-bit integer on both engines (sqlx's `Any` driver decodes
/// no SQLite boolean, so flags are integers everywhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(transparent)]
pub struct SqlBool(pub i64);

impl From<SqlBool> for bool {
    fn from(value: SqlBool) -> Self {
        value.0 != 0
    }
}

impl From<bool> for SqlBool {
    fn from(value: bool) -> Self {
        Self(i64::from(value))
    }
}
