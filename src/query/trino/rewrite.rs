//! Plan rewrites: casts that round as Trino's do, and lateral UNNEST.

use arrow_schema::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, plan_err};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::{Cast, TryCast};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan};
use datafusion::optimizer::AnalyzerRule;

/// Trino rounds a floating-point number cast to an integer type (half away from zero:
/// `CAST(2.5 AS INT)` is 3); DataFusion truncates. This rule wraps such casts in `round()`,
/// which rounds the same way, after type coercion has settled every type.
#[derive(Debug)]
pub(super) struct RoundingCasts;

impl AnalyzerRule for RoundingCasts {
    fn name(&self) -> &str {
        "trino_rounding_casts"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|plan| {
            let schema = merge_schema(&plan.inputs());
            let names = NamePreserver::new(&plan);
            plan.map_expressions(|expr| {
                let name = names.save(&expr);
                expr.transform_up(|e| round_float_to_int(e, &schema))
                    .map(|t| t.update_data(|e| name.restore(e)))
            })
        })
        .map(|t| t.data)
    }
}

pub(super) fn round_float_to_int(
    expr: Expr,
    schema: &datafusion::common::DFSchema,
) -> Result<Transformed<Expr>> {
    let rounds = |inner: &Expr, to: &DataType| -> bool {
        to.is_integer()
            && inner.get_type(schema).is_ok_and(|from| {
                matches!(
                    from,
                    DataType::Float16 | DataType::Float32 | DataType::Float64
                )
            })
    };
    let round = |inner: Expr| datafusion::functions::math::round().call(vec![inner]);
    Ok(match expr {
        Expr::Cast(Cast { expr, field }) if rounds(&expr, field.data_type()) => Transformed::yes(
            Expr::Cast(Cast::new_from_field(Box::new(round(*expr)), field)),
        ),
        Expr::TryCast(TryCast { expr, field }) if rounds(&expr, field.data_type()) => {
            Transformed::yes(Expr::TryCast(TryCast::new_from_field(
                Box::new(round(*expr)),
                field,
            )))
        }
        other => Transformed::no(other),
    })
}

/// Trino's `FROM t CROSS JOIN UNNEST(array) AS u (x)` reads a column of `t` inside UNNEST (a
/// lateral join), which DataFusion cannot plan. Its equivalent there is
/// `FROM (SELECT t.*, unnest(array) AS x FROM t) AS t`: the same rows, arrays of several
/// UNNEST arguments zipped alike. This rewrites the parsed statement, never the SQL text.
pub fn rewrite_lateral_unnest(
    statement: &mut datafusion::sql::sqlparser::ast::Statement,
) -> Result<()> {
    use datafusion::sql::sqlparser::ast::VisitMut;
    let mut rewriter = UnnestRewriter;
    match statement.visit(&mut rewriter) {
        std::ops::ControlFlow::Continue(()) => Ok(()),
        std::ops::ControlFlow::Break(message) => plan_err!("{message}"),
    }
}

pub(super) struct UnnestRewriter;

impl datafusion::sql::sqlparser::ast::VisitorMut for UnnestRewriter {
    type Break = String;

    fn post_visit_query(
        &mut self,
        query: &mut datafusion::sql::sqlparser::ast::Query,
    ) -> std::ops::ControlFlow<String> {
        match rewrite_set_expr(&mut query.body) {
            Ok(()) => std::ops::ControlFlow::Continue(()),
            Err(message) => std::ops::ControlFlow::Break(message),
        }
    }
}

pub(super) fn rewrite_set_expr(
    body: &mut datafusion::sql::sqlparser::ast::SetExpr,
) -> std::result::Result<(), String> {
    use datafusion::sql::sqlparser::ast::SetExpr;
    match body {
        SetExpr::Select(select) => {
            for from in &mut select.from {
                rewrite_from(from)?;
            }
            Ok(())
        }
        SetExpr::SetOperation { left, right, .. } => {
            rewrite_set_expr(left)?;
            rewrite_set_expr(right)
        }
        _ => Ok(()),
    }
}

pub(super) fn rewrite_from(
    from: &mut datafusion::sql::sqlparser::ast::TableWithJoins,
) -> std::result::Result<(), String> {
    use datafusion::sql::sqlparser::ast::{JoinOperator, SetExpr, Statement, TableFactor};
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    // Each UNNEST right after the relation folds into it; the next may then follow.
    while let Some(join) = from.joins.first() {
        let (
            TableFactor::UNNEST {
                alias,
                array_exprs,
                with_offset: false,
                with_ordinality: false,
                ..
            },
            JoinOperator::CrossJoin(_),
        ) = (&join.relation, &join.join_operator)
        else {
            return Ok(());
        };
        let base = match &from.relation {
            TableFactor::Table { alias: Some(a), .. }
            | TableFactor::Derived { alias: Some(a), .. } => a.name.to_string(),
            TableFactor::Table {
                name, alias: None, ..
            } => match name.0.last() {
                Some(part) => part.to_string(),
                None => return Ok(()),
            },
            _ => return Ok(()),
        };
        let columns: Vec<String> = alias
            .iter()
            .flat_map(|a| a.columns.iter().map(|c| c.name.to_string()))
            .collect();
        if columns.len() != array_exprs.len() {
            return Err(format!(
                "name the columns of UNNEST, one for each array: CROSS JOIN UNNEST({}) AS t (…)",
                array_exprs
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let unnests: Vec<String> = array_exprs
            .iter()
            .zip(&columns)
            .map(|(e, c)| format!("unnest({e}) AS {c}"))
            .collect();
        let sql = format!(
            "SELECT * FROM (SELECT {base}.*, {} FROM {}) AS {base}",
            unnests.join(", "),
            from.relation
        );
        let parsed = Parser::parse_sql(&GenericDialect {}, &sql).map_err(|e| e.to_string())?;
        let Some(Statement::Query(query)) = parsed.into_iter().next() else {
            return Err(format!("cannot rewrite UNNEST as {sql}"));
        };
        let SetExpr::Select(select) = *query.body else {
            return Err(format!("cannot rewrite UNNEST as {sql}"));
        };
        let Some(derived) = select.from.into_iter().next() else {
            return Err(format!("cannot rewrite UNNEST as {sql}"));
        };
        from.relation = derived.relation;
        from.joins.remove(0);
    }
    Ok(())
}
