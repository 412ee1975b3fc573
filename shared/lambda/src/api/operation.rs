//! A request read into what it asks for before any table is touched: a malformed request is
//! answered 4xx without a read (and so also while the tables are unreachable), and the read
//! every operation starts with, whether its caller was erased, is made in one place.

use http::Method;
use lambda_http::{Body, Request, Response};
use taskpulse_app::{
    CommandContext, CommandQueues, ListQuery, LoadProjectionConfig, NewTask, ReadCounters,
    RollUpMonths, SendWork, UserSettings,
};
use taskpulse_domain::{TaskCommand, TaskId, UserId};

use super::analytics::AnalyticsRequest;
use super::identity::{CallerSource, caller};
use super::problem::Problem;
use super::query::list_query;
use super::settings::read_settings;
use super::tasks::{read_change, read_create, task_id};
use super::{Api, ApiTaskTable, Route};

/// What a request of a route other than the erasure routes asks for, read and checked.
#[derive(Debug)]
pub(super) enum Operation {
    ListTasks(UserId, ListQuery),
    CreateTask(CommandContext, NewTask),
    GetTask(UserId, TaskId),
    ChangeTask(CommandContext, TaskId, TaskCommand),
    Analytics(AnalyticsRequest),
    GetSettings(UserId),
    PutSettings(UserId, UserSettings),
}

impl Operation {
    /// Reads `request` for `route`: who calls, then what they ask, each problem as the
    /// route's handler names it.
    pub(super) fn read(
        route: Route<'_>,
        method: &Method,
        request: &Request,
        source: CallerSource,
    ) -> Result<Self, Problem> {
        let caller = caller(request, source)?;
        Ok(match (route, method) {
            (Route::Tasks, &Method::GET) => Self::ListTasks(caller.user_id, list_query(request)?),
            (Route::Tasks, &Method::POST) => {
                let (new_task, context) = read_create(request, caller)?;
                Self::CreateTask(context, new_task)
            }
            (Route::Task(id), &Method::GET) => Self::GetTask(caller.user_id, task_id(id)?),
            (Route::TaskChange(id, change), &Method::POST) => {
                let (id, command, context) = read_change(request, caller, id, change)?;
                Self::ChangeTask(context, id, command)
            }
            (Route::Analytics(which), &Method::GET) => {
                Self::Analytics(AnalyticsRequest::read(request, caller, which)?)
            }
            (Route::Settings, &Method::GET) => Self::GetSettings(caller.user_id),
            (Route::Settings, &Method::PUT) => {
                Self::PutSettings(caller.user_id, read_settings(request)?)
            }
            _ => return Err(Problem::method_not_allowed(route.methods())),
        })
    }

    /// Whether it only reads: nothing it does needs to wait for the erasure check. An
    /// analytics read may seal months (it writes to the caller's partition), so it waits, as
    /// a command does: an erased identity must have nothing written under it.
    fn only_reads(&self) -> bool {
        matches!(
            self,
            Self::ListTasks(..) | Self::GetTask(..) | Self::GetSettings(_)
        )
    }

    /// The caller.
    pub(super) fn caller(&self) -> &UserId {
        match self {
            Self::ListTasks(user, _)
            | Self::GetTask(user, _)
            | Self::GetSettings(user)
            | Self::PutSettings(user, _) => user,
            Self::CreateTask(context, _) | Self::ChangeTask(context, ..) => &context.caller,
            Self::Analytics(request) => request.caller(),
        }
    }
}

impl<S, P, R, W> Api<S, P, R, W>
where
    S: ApiTaskTable,
    P: CommandQueues,
    R: ReadCounters + RollUpMonths + LoadProjectionConfig,
    W: SendWork,
{
    /// Refuses an erased caller (`410`), then runs the operation. An erased identity stores
    /// and reads nothing more, so a command waits for that answer; an operation that only
    /// reads runs beside the check (one round trip instead of two) and its answer is dropped
    /// if the caller turns out to be erased.
    pub(super) async fn perform(&self, operation: Operation) -> Result<Response<Body>, Problem> {
        if operation.only_reads() {
            let caller = operation.caller().clone();
            let (erased, answer) = tokio::join!(self.refuse_erased(&caller), self.run(operation));
            erased?;
            return answer;
        }
        self.refuse_erased(operation.caller()).await?;
        self.run(operation).await
    }

    async fn run(&self, operation: Operation) -> Result<Response<Body>, Problem> {
        match operation {
            Operation::ListTasks(owner, query) => self.list_tasks(&owner, &query).await,
            Operation::CreateTask(context, new_task) => self.create_task(&context, new_task).await,
            Operation::GetTask(owner, id) => self.get_task(&owner, id).await,
            Operation::ChangeTask(context, id, command) => {
                self.change_task(&context, id, command).await
            }
            Operation::Analytics(request) => self.analytics_report(request).await,
            Operation::GetSettings(user) => self.get_settings(&user).await,
            Operation::PutSettings(user, settings) => self.put_settings(&user, settings).await,
        }
    }
}
