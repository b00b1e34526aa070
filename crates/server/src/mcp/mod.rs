//! The MCP server: Lakehouse's tools, prompts and resources for any MCP client, over stdio
//! (`lakehouse mcp`) or streamable HTTP (`/mcp` in `lakehouse serve`, behind the same bearer
//! tokens as the rest of the API). Built on the `rmcp` SDK; this module only maps MCP calls to
//! the HTTP routes' handlers.
//!
//! - `tools`: the tools (datasets, SQL, matrix search, memory, agent runs). A failure — bad
//!   SQL, an unknown id, a missing corpus, a refused scope — is a tool result with `isError`
//!   and the server's message, never a protocol error.
//! - `catalog`: the playbooks of the caller's namespace and of `agent/playbooks` as prompts;
//!   datasets and corpora as resources (their description as JSON).
//!
//! Over HTTP the caller is the token's principal (put in the request by the auth middleware);
//! the memory tools' default namespace is the connection's (`/mcp?namespace=team/alice`), else
//! the token's `namespace`. Over stdio the caller is the local user, an administrator, and the
//! default is `lakehouse mcp --namespace`.

mod catalog;
mod tools;

/// The names of the tools the MCP server offers.
pub const TOOL_NAMES: [&str; 14] = tools::NAMES;

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, GetPromptRequestParams,
    GetPromptResponse, Implementation, ListPromptsResult, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};

use crate::auth::Principal;
use crate::extract::Caller;
use crate::state::AppState;

/// The namespace memory tools use when neither the call nor the token names one.
pub const DEFAULT_NAMESPACE: &str = "default";

const INSTRUCTIONS: &str = "Lakehouse holds an organisation's datasets (query them with `sql`; \
    see `list_datasets`), searchable corpora (`search`, see `list_corpora`) and a versioned memory \
    (`memory_search` before answering, `memory_add` to remember facts and workflows, \
    `memory_revise` to correct, `memory_retire` to forget; every change is kept in \
    `memory_history`). Playbooks that worked before are offered as prompts.";

/// One MCP connection's handler.
#[derive(Clone)]
pub struct McpServer {
    state: AppState,
    /// Fixed for stdio; over HTTP, `None`: each request's token decides.
    principal: Option<Arc<Principal>>,
    namespace: Option<String>,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("principal", &self.principal)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl McpServer {
    /// A local (stdio) server: the caller may do everything; memory tools default to
    /// `namespace`.
    pub fn local(state: AppState, namespace: impl Into<String>) -> McpServer {
        McpServer {
            state,
            principal: Some(Arc::new(Principal::open())),
            namespace: Some(namespace.into()),
        }
    }

    /// Serve one client over stdin/stdout until it disconnects.
    pub async fn serve_stdio(self) -> Result<(), McpError> {
        let running = self.serve(rmcp::transport::stdio()).await?;
        running.waiting().await?;
        Ok(())
    }

    /// Who calls: the stdio principal, or the one the auth middleware put in the HTTP request.
    fn caller(&self, context: &RequestContext<RoleServer>) -> Result<Caller, ErrorData> {
        if let Some(principal) = &self.principal {
            return Ok(Caller(Arc::clone(principal)));
        }
        context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Arc<Principal>>())
            .cloned()
            .map(Caller)
            .ok_or_else(|| ErrorData::internal_error("MCP mounted without authentication", None))
    }

    /// The namespace memory tools use when a call names none: `--namespace` (stdio), else
    /// the `/mcp?namespace=` of the connection, else the token's, else [`DEFAULT_NAMESPACE`].
    fn namespace(
        &self,
        caller: &Caller,
        context: &RequestContext<RoleServer>,
    ) -> Result<String, ErrorData> {
        if let Some(ns) = &self.namespace {
            return Ok(ns.clone());
        }
        let uri = context
            .extensions
            .get::<axum::http::request::Parts>()
            .map(|parts| &parts.uri);
        if let Some(ns) = uri.map(namespace_param).transpose()?.flatten() {
            return Ok(ns);
        }
        Ok(caller
            .namespace
            .clone()
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string()))
    }
}

/// `?namespace=…` of the `/mcp` URL, if given.
fn namespace_param(uri: &axum::http::Uri) -> Result<Option<String>, ErrorData> {
    #[derive(serde::Deserialize)]
    struct Query {
        namespace: Option<String>,
    }
    axum::extract::Query::<Query>::try_from_uri(uri)
        .map(|q| q.0.namespace)
        .map_err(|e| {
            ErrorData::invalid_params(
                format!("the /mcp query string is not valid: {}", e.body_text()),
                None,
            )
        })
}

/// Why the MCP server could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum McpError {
    /// The client did not initialize (or the transport broke before it did).
    #[error("MCP client did not initialize: {0}")]
    Initialize(Box<rmcp::service::ServerInitializeError>),
    /// The serving task failed.
    #[error("MCP server task failed: {0}")]
    Serve(#[from] tokio::task::JoinError),
}

impl From<rmcp::service::ServerInitializeError> for McpError {
    fn from(e: rmcp::service::ServerInitializeError) -> McpError {
        McpError::Initialize(Box::new(e))
    }
}

/// How `/mcp` serves: sessions as the 2025 protocol has them; the Host check that guards a
/// token-less loopback server against DNS rebinding (dropped when tokens guard the server).
pub(crate) fn http_config(tokens: bool) -> StreamableHttpServerConfig {
    let config = StreamableHttpServerConfig::default();
    if tokens {
        config.disable_allowed_hosts()
    } else {
        config
    }
}

/// The `/mcp` service over `state`.
pub(crate) fn http_service(
    state: &AppState,
) -> StreamableHttpService<McpServer, LocalSessionManager> {
    let handler = McpServer {
        state: state.clone(),
        principal: None,
        namespace: None,
    };
    StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(LocalSessionManager::default()),
        state.mcp_config().clone(),
    )
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("lakehouse", env!("CARGO_PKG_VERSION")))
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let caller = self.caller(&context)?;
        let namespace = self.namespace(&caller, &context)?;
        Ok(ListToolsResult::with_all_items(tools::list(&namespace)))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.as_ref();
        if !tools::NAMES.contains(&name) {
            return Err(ErrorData::invalid_params(
                format!("no tool {name:?} (tools/list names them)"),
                None,
            ));
        }
        let caller = self.caller(&context)?;
        let namespace = self.namespace(&caller, &context)?;
        let args = request.arguments.unwrap_or_default();
        let result = match tools::call(&self.state, caller, &namespace, name, args).await {
            Ok(value) => CallToolResult::structured(value),
            Err(e) => {
                tracing::info!(
                    tool = name,
                    code = e.code(),
                    "MCP tool failed: {}",
                    e.message()
                );
                CallToolResult::error(vec![ContentBlock::text(format!(
                    "{}: {}",
                    e.code(),
                    e.message()
                ))])
            }
        };
        Ok(result.into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let caller = self.caller(&context)?;
        let namespace = self.namespace(&caller, &context)?;
        let prompts = catalog::prompts(&self.state, &caller, &namespace).await?;
        Ok(ListPromptsResult::with_all_items(prompts))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let caller = self.caller(&context)?;
        Ok(catalog::prompt(&self.state, &caller, &request)
            .await?
            .into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let caller = self.caller(&context)?;
        Ok(ListResourcesResult::with_all_items(
            catalog::resources(&self.state, &caller).await?,
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let caller = self.caller(&context)?;
        Ok(catalog::read(&self.state, &caller, &request.uri)
            .await?
            .into())
    }
}
