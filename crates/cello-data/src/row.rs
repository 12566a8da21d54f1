//! [`Row`]: the values of one result row plus the column names, shared by every row of
//! the same result.

use std::sync::Arc;

use crate::value::Value;

/// The column names of one result set, shared by all of its rows.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Columns {
    names: Vec<Box<str>>,
}

impl Columns {
    pub fn new(names: Vec<Box<str>>) -> Self {
        Self { names }
    }

    pub fn names(&self) -> &[Box<str>] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The index of the first column called `name`. Rows are narrow, so a scan beats
    /// building a map per result.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|column| &**column == name)
    }
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    columns: Arc<Columns>,
    values: Vec<Value>,
}

impl Row {
    /// A row; `values` holds one value per column.
    pub fn new(columns: Arc<Columns>, values: Vec<Value>) -> Self {
        debug_assert_eq!(columns.len(), values.len());
        Self { columns, values }
    }

    pub fn columns(&self) -> &Arc<Columns> {
        &self.columns
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }

    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The value at `index`.
    pub fn get(&self, index: usize) -> Option<&Value> {
        self.values.get(index)
    }

    /// The value of the column called `name`.
    pub fn get_by_name(&self, name: &str) -> Option<&Value> {
        self.columns
            .index_of(name)
            .and_then(|index| self.values.get(index))
    }

    /// Appends the row as a JSON object, `{"column": value, ...}`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (index, (name, value)) in self.columns.names().iter().zip(&self.values).enumerate() {
            if index > 0 {
                out.push(b',');
            }
            let _ = serde_json::to_writer(&mut *out, &**name);
            out.push(b':');
            value.write_json(out);
        }
        out.push(b'}');
    }

    /// Appends `rows` as a JSON array of objects.
    pub fn write_json_array(rows: &[Row], out: &mut Vec<u8>) {
        out.push(b'[');
        for (index, row) in rows.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            row.write_json(out);
        }
        out.push(b']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_index_by_position_and_name_and_encode() {
        let columns = Arc::new(Columns::new(vec!["id".into(), "name".into()]));
        let row = Row::new(columns, vec![Value::Int(1), Value::Text("ada".into())]);
        assert_eq!(row.get(1), Some(&Value::Text("ada".into())));
        assert_eq!(row.get_by_name("id"), Some(&Value::Int(1)));
        assert_eq!(row.get_by_name("missing"), None);
        let mut out = Vec::new();
        Row::write_json_array(&[row.clone(), row], &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"[{"id":1,"name":"ada"},{"id":1,"name":"ada"}]"#
        );
    }
}
