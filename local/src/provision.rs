//! Creates the stack's DynamoDB tables (as `shared::storage::schema` and
//! template.yaml declare them) in an emulator.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use shared::storage::schema::{StreamView, TABLES, TableSpec};

#[derive(Debug, thiserror::Error)]
#[error("creating table {table}: {detail}")]
pub struct ProvisionError {
    table: String,
    detail: String,
}

/// Table names by logical id (`EventsTable` → `<prefix>-EventsTable`).
#[derive(Debug, Clone)]
pub struct TableNames(HashMap<&'static str, String>);

impl TableNames {
    pub fn of(&self, table: &TableSpec) -> &str {
        self.0
            .get(table.logical_id)
            .map(String::as_str)
            .unwrap_or_default()
    }
}

/// Creates every table under `prefix`, leaving tables that already exist alone.
pub async fn create_tables(client: &Client, prefix: &str) -> Result<TableNames, ProvisionError> {
    let existing = client
        .list_tables()
        .send()
        .await
        .map_err(|e| ProvisionError {
            table: "*".into(),
            detail: DisplayErrorContext(e).to_string(),
        })?
        .table_names
        .unwrap_or_default();
    let mut names = HashMap::new();
    for spec in TABLES {
        let name = format!("{prefix}-{}", spec.logical_id);
        if !existing.contains(&name) {
            create_table(client, spec, &name)
                .await
                .map_err(|detail| ProvisionError {
                    table: name.clone(),
                    detail,
                })?;
        }
        names.insert(spec.logical_id, name);
    }
    Ok(TableNames(names))
}

async fn create_table(client: &Client, spec: &TableSpec, name: &str) -> Result<(), String> {
    let key = |attribute: &str, key_type: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(attribute)
            .key_type(key_type)
            .build()
            .map_err(|e| e.to_string())
    };
    let key_schema = |partition: &str, sort: Option<&str>| -> Result<Vec<_>, String> {
        let mut schema = vec![key(partition, KeyType::Hash)?];
        if let Some(sort) = sort {
            schema.push(key(sort, KeyType::Range)?);
        }
        Ok(schema)
    };
    let mut attributes: Vec<&str> = [Some(spec.partition_key), spec.sort_key]
        .into_iter()
        .flatten()
        .collect();
    let mut indexes = Vec::new();
    for index in spec.indexes {
        attributes.extend(
            [Some(index.partition_key), index.sort_key]
                .into_iter()
                .flatten(),
        );
        indexes.push(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .set_key_schema(Some(key_schema(index.partition_key, index.sort_key)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    let definitions = attributes
        .into_iter()
        .map(|name| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let stream = spec.stream.map(|view| {
        StreamSpecification::builder()
            .stream_enabled(true)
            .stream_view_type(match view {
                StreamView::NewImage => StreamViewType::NewImage,
                StreamView::NewAndOldImages => StreamViewType::NewAndOldImages,
            })
            .build()
    });
    let stream = stream.transpose().map_err(|e| e.to_string())?;
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(spec.partition_key, spec.sort_key)?))
        .set_attribute_definitions(Some(definitions))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .set_stream_specification(stream)
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    if let Some(attribute) = spec.ttl_attribute {
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(attribute)
            .enabled(true)
            .build()
            .map_err(|e| e.to_string())?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
    }
    Ok(())
}
