//! AWS SDK configuration, loaded once per container. `AWS_ENDPOINT_URL` (the
//! SDK's own variable) points every client at an emulator in local runs and tests.

use aws_config::{BehaviorVersion, SdkConfig};

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}
