namespace AiGateway.Ledger;

/// <summary>
/// The credit ceiling of one agent task (<c>X-Gateway-Task</c>) of an account. Only the ceiling is stored: what the
/// task has charged and holds is derived from its holds (<see cref="CreditHold.Task"/>) under the account's ledger
/// lock, so no counter can drift from the holds and charges it summarises.
/// </summary>
public sealed class TaskBudget
{
    /// <summary>The account the task belongs to.</summary>
    public Guid AccountId { get; set; }

    /// <summary>The client's task id.</summary>
    public required string Task { get; set; }

    /// <summary>The ceiling in micro-credits; the first call sets it, later calls may only lower it.</summary>
    public long BudgetMicro { get; set; }

    /// <summary>When the first budget header of the task was seen.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the ceiling last changed.</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}
