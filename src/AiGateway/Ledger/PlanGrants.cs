namespace AiGateway.Ledger;

/// <summary>A one-time grant of a plan, e.g. the welcome credits new members receive once.</summary>
public sealed class PlanGrant
{
    /// <summary>Credits granted.</summary>
    public decimal Credits { get; set; }

    /// <summary>One of <see cref="CreditKinds"/>; a gift is a <c>bonus</c>.</summary>
    public string Kind { get; set; } = CreditKinds.Bonus;

    /// <summary>Days the credits stay valid; null uses the kind's default (a bonus never expires).</summary>
    public int? ValidDays { get; set; }
}

/// <summary>A grant a plan repeats every period (e.g. "around 10 credits each week"), issued once per period.</summary>
public sealed class RecurringPlanGrant
{
    /// <summary>Credits granted each period.</summary>
    public decimal Credits { get; set; }

    /// <summary><c>day</c>, <c>week</c> (ISO weeks, Monday 00:00 UTC) or <c>month</c>.</summary>
    public string Period { get; set; } = LedgerPeriods.Week;

    /// <summary>Days each grant stays valid from its period's start; ignored when <see cref="Accumulate"/> is false.</summary>
    public int? ValidDays { get; set; }

    /// <summary>False: the grant expires at its period's end (no rollover); true: it lasts <see cref="ValidDays"/> (or forever).</summary>
    public bool Accumulate { get; set; }

    /// <summary>One of <see cref="CreditKinds"/>.</summary>
    public string Kind { get; set; } = CreditKinds.Bonus;
}
