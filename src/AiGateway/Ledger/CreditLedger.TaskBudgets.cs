using AiGateway.Pricing;
using AiGateway.Storage;

namespace AiGateway.Ledger;

// Task budgets: a ceiling on what one agent task of an account may spend. Checked inside the reserve's transaction,
// which holds the account's lock, so concurrent calls of one task (on any instance) are checked one after another.
public sealed partial class CreditLedger
{
    // The first budget of a task sets it; a later one may only lower it (raising it would let an agent lift its own cap).
    private const string UpsertBudgetSql = """
        INSERT INTO task_budgets (account_id, task, budget_micro, created_at, updated_at) VALUES (@a, @t, @b, @now, @now)
        ON CONFLICT (account_id, task) DO UPDATE SET budget_micro = {0}(task_budgets.budget_micro, excluded.budget_micro),
            updated_at = @now
        """;

    // Spent = the charges of the task's settled holds; held = its active holds. Expired holds count only once charged.
    private const string TaskUseSql = """
        SELECT CAST(COALESCE(SUM(CASE WHEN h.status = 'active' THEN h.amount ELSE 0 END), 0) AS BIGINT),
               CAST(COALESCE(SUM(c.amount), 0) AS BIGINT)
        FROM credit_holds h LEFT JOIN credit_charges c ON c.id = h.charge_id
        WHERE h.account_id = @a AND h.task = @t
        """;

    /// <summary>Whether the task's budget (set or lowered by <paramref name="budget"/>) still fits <paramref name="amount"/>; true without a budget.</summary>
    private static async Task<bool> TaskBudgetAllowsAsync(LedgerSession s, Guid accountId, string task, Credits? budget, long amount, long nowTicks)
    {
        var id = s.Id(accountId);
        if (budget is { } b)
        {
            await s.ExecuteAsync(string.Format(UpsertBudgetSql, s.IsPostgres ? "LEAST" : "MIN"),
                ("@a", id), ("@t", task), ("@b", b.Micro), ("@now", nowTicks));
        }
        var ceiling = await s.ScalarAsync("SELECT budget_micro FROM task_budgets WHERE account_id = @a AND task = @t", ("@a", id), ("@t", task));
        if (ceiling is null) return true;
        var (held, spent) = await TaskUseAsync(s, id, task);
        return spent + held + amount <= ceiling.Value;
    }

    private static async Task<(long Held, long Spent)> TaskUseAsync(LedgerSession s, object accountId, string task)
    {
        await using var reader = await s.ReaderAsync(TaskUseSql, ("@a", accountId), ("@t", task));
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>A task's budget and what it has charged and holds now; null when the task has no budget.</summary>
    public async Task<TaskBudgetView?> GetTaskBudgetAsync(Guid accountId, string task, CancellationToken cancellationToken = default)
    {
        await using var s = await BeginAsync(cancellationToken);
        var id = s.Id(accountId);
        var ceiling = await s.ScalarAsync("SELECT budget_micro FROM task_budgets WHERE account_id = @a AND task = @t", ("@a", id), ("@t", task));
        if (ceiling is null) return null;
        var (held, spent) = await TaskUseAsync(s, id, task);
        await s.CommitAsync();
        return new TaskBudgetView(task, new Credits(ceiling.Value), new Credits(spent), new Credits(held));
    }
}

/// <summary>A task's budget with what it has charged and holds.</summary>
public sealed record TaskBudgetView(string Task, Credits Budget, Credits Spent, Credits Held);
