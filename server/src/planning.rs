//! The planner's server side: the plan catalog and saved scenarios behind
//! [`app::services::Planner`]. The planning itself runs in the browser.

use crate::{
    error::Error,
    store::{self, Db, audit},
};
use app::{
    domain::CurrentUser,
    error::AppError,
    planner::{Plan, SavedScenario, Scenario, default_catalog},
    services::Planner,
};

/// Adds Kiln's default plans to the catalog where missing (at start-up).
pub async fn seed(db: &Db) -> Result<(), sqlx::Error> {
    store::planner::seed_catalog(db, &default_catalog(), store::now_millis()).await
}

pub struct PlannerService {
    pub db: Db,
}

#[async_trait::async_trait]
impl Planner for PlannerService {
    async fn catalog(&self) -> Result<Vec<Plan>, AppError> {
        Ok(store::planner::catalog(&self.db).await.map_err(Error::from)?)
    }

    async fn update_plan(&self, actor: &CurrentUser, plan: Plan) -> Result<(), AppError> {
        plan.validate().map_err(|message| AppError::Invalid { field: None, message })?;
        let now = store::now_millis();
        if !store::planner::update_plan(&self.db, &plan, &actor.email, now).await.map_err(Error::from)? {
            return Err(AppError::NotFound(format!("The plan {:?}", plan.key)));
        }
        audit::record(&self.db, &actor.email, "plan.update", &plan.key, None, now).await.map_err(Error::from)?;
        Ok(())
    }

    async fn scenarios(&self) -> Result<Vec<SavedScenario>, AppError> {
        Ok(store::planner::scenarios(&self.db).await.map_err(Error::from)?)
    }

    async fn save_scenario(&self, actor: &CurrentUser, name: String, query: String) -> Result<SavedScenario, AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid("name", "Give the scenario a name of 1 to 100 characters."));
        }
        // Stored in the form the planner writes, so whatever was sent opens the same way.
        let query = Scenario::from_query_string(&query).to_query_string();
        let saved = store::planner::save_scenario(&self.db, name, &query, &actor.email, store::now_millis())
            .await
            .map_err(Error::from)?;
        Ok(saved)
    }
}
