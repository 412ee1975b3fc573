//! A moto server on a free port of 127.0.0.1 (or of Docker's bridge, for functions in
//! containers), from the project-local virtualenv.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use aws_config::{Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;

use crate::DevstackError;
use crate::process::{Service, free_port_on};
use crate::python_tools::PythonTools;

/// How long moto may take to accept connections (it is usually ready in half a second).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running moto server, stopped (and all its state gone) when dropped.
#[derive(Debug)]
pub struct MotoServer {
    service: Service,
}

impl MotoServer {
    /// Starts moto on a free 127.0.0.1 port and waits until it accepts connections.
    pub fn start() -> Result<Self, DevstackError> {
        Self::start_on(Ipv4Addr::LOCALHOST)
    }

    /// Starts moto on a free port of `host`, an address of this machine such as the Docker
    /// bridge's gateway (which containers reach and other machines do not); never all
    /// interfaces.
    pub fn start_on(host: Ipv4Addr) -> Result<Self, DevstackError> {
        if host.is_unspecified() {
            return Err(DevstackError::Tool(
                "moto must not listen on all interfaces (0.0.0.0)".into(),
            ));
        }
        let tools = PythonTools::ensure()?;
        // The port is free when chosen but could be taken before moto binds it: try again then.
        let mut last_error = None;
        for _ in 0..3 {
            let port = free_port_on(host)?;
            // One request at a time, as DynamoDB applies each request atomically (see the script).
            let mut command = Command::new(tools.bin_dir().join("python"));
            command
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("moto_one_request_at_a_time.py"))
                .args([&host.to_string(), &port.to_string()]);
            let mut service = Service::spawn_on("moto", host, port, &mut command)?;
            match service.wait_listening(READY_TIMEOUT) {
                Ok(()) => return Ok(Self { service }),
                Err(e) => {
                    let _ = service.child.kill();
                    let _ = service.child.wait();
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| DevstackError::Tool("moto did not start".into())))
    }

    pub fn port(&self) -> u16 {
        self.service.port
    }

    pub fn endpoint_url(&self) -> String {
        format!("http://{}:{}", self.service.host, self.service.port)
    }

    /// SDK configuration pointing every client at this server, with moto's dummy credentials.
    /// Built explicitly rather than from process environment so parallel tests stay apart.
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_for(&self.endpoint_url()).await
    }
}

/// SDK configuration for an AWS-protocol endpoint that accepts any credentials (moto, LocalStack).
pub async fn sdk_config_for(endpoint_url: &str) -> SdkConfig {
    taskpulse_aws::sdk::config_loader()
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint_url)
        .credentials_provider(Credentials::new("test", "test", None, None, "devstack"))
        .load()
        .await
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.service.child.kill();
        let _ = self.service.child.wait();
        self.service.remove_log();
    }
}
