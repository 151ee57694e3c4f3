using AiGateway.Accounts;
using AiGateway.Ledger;
using AiGateway.Pricing;
using AiGateway.Providers;

namespace AiGateway.Metering;

/// <summary>
/// Steps "admit" and "hold": reserves the call's worst case (<see cref="CallEstimate.Held"/>: input plus the output
/// limit — the request's own or the model's maximum — for every choice) on the account's credits atomically, or
/// refuses with 402. Under a plan's <c>clamp</c> policy an unaffordable request is not refused but its output limit is
/// lowered to what the balance affords (refused only when not even the input is affordable), and the limit the hold
/// covers is always written into the forwarded request. On other plans a request without an output limit is lowered
/// the same way, but not below the model's expected output. Unlimited models hold nothing.
/// </summary>
public sealed class CreditAdmission(CreditLedger ledger, CreditLeases leases, PlanCatalog plans, CallEstimator estimator)
{
    private const int ClampAttempts = 3;

    /// <summary>Admits the call, updating <paramref name="call"/> (hold, clamp, estimate); returns the error to answer with when refused.</summary>
    public async Task<GatewayError?> AdmitAsync(MeteredCall call, CancellationToken cancellationToken)
    {
        var caller = call.Caller;
        if (plans.IsUnlimited(caller.Plan, call.Estimate.Price.Name) ||
            (call.Request.Model is { } model && plans.IsUnlimited(caller.Plan, model)))
        {
            call.Unlimited = true;
            var balance = await ledger.GetBalanceAsync(caller.AccountId, cancellationToken: cancellationToken);
            call.AvailableAfterHold = balance?.Available ?? Credits.Zero;
            return null;
        }

        call.NoDebt = plans.GetOveragePolicy(caller.Plan) == OveragePolicies.Clamp;
        if (leases.Active && CanLease(call))
        {
            // Held in memory against this instance's lease; when the lease cannot cover it (credits low), hold exactly,
            // with this instance's unused lease returned first so the database sees those credits as free. The call's
            // interrupted record goes to the instance's local admission log first: if this instance dies before the call
            // is recorded, the call is recorded as interrupted (as an exact hold's carried record is).
            if (await leases.TryReserveAsync(caller.AccountId, call.Estimate.Held, cancellationToken, CallRecorder.Interrupted(call)) is { } leased)
            {
                call.LeasedHold = leased.Hold;
                call.Held = true;
                call.AvailableAfterHold = leased.AvailableAfter;
                SetForwardedLimit(call, call.NoDebt);
                return null;
            }
            await leases.ReturnUnusedAsync(caller.AccountId, cancellationToken);
        }

        var reserve = await ledger.ReserveAsync(caller.AccountId, call.Estimate.Held, call.RequestId, cancellationToken, call.Task, call.TaskBudget, call.Scope,
            CallRecorder.Interrupted(call));
        var clamp = plans.GetOveragePolicy(caller.Plan) == OveragePolicies.Clamp;
        call.NoDebt = clamp;
        var choices = Math.Max(1, call.Request.N);
        var expectedPerChoice = call.Estimate.OutputTokens / choices;
        // The limit may be lowered on a clamp plan, and on any plan when the request set none (the gateway chose the
        // model's maximum, so it may as well choose less) — then the lower limit is written into the request.
        var lowerable = SupportsOutputLimit(call.Request) && call.Estimate.OutputLimit is > 0
                        && (clamp || call.Request.MaxOutputTokens is null);
        for (var i = 0; !reserve.Succeeded && reserve.Status == ReserveStatus.InsufficientCredits && lowerable && i < ClampAttempts; i++)
        {
            // Lower the output limit to what is available now; another request may take credits meanwhile, so retry a few times.
            var affordable = CostCalculator.AffordableOutputTokens(call.Estimate.Price, call.Estimate.InputTokens, reserve.Available) / choices;
            if (affordable < 1) break;
            var limit = (int)Math.Min(Math.Min(affordable, call.Estimate.OutputLimit!.Value), int.MaxValue);
            // Outside clamp plans a limit below the model's expected output would most likely cut the answer short: refuse instead.
            if (!clamp && limit < expectedPerChoice) break;
            var clamped = estimator.Estimate(call.Request, limit).Estimate!;
            call.Estimate = clamped;
            call.Clamped = true;
            reserve = await ledger.ReserveAsync(caller.AccountId, clamped.Held, call.RequestId, cancellationToken, call.Task, call.TaskBudget, call.Scope,
                CallRecorder.Interrupted(call));
        }

        call.AvailableAfterHold = reserve.Available;
        if (reserve.Succeeded)
        {
            call.Held = true;
            SetForwardedLimit(call, clamp);
            return null;
        }
        return reserve.Status switch
        {
            ReserveStatus.InsufficientCredits => new GatewayError(GatewayErrorKind.InsufficientCredits,
                $"Insufficient credits: this request is estimated at {call.Estimate.Credits} credits and needs a hold of " +
                $"{call.Estimate.Held} credits (the most it may cost{LimitText(call)}); {reserve.Available} are available." +
                (call.Request.MaxOutputTokens is null && call.Estimate.OutputLimit is > 0 ? " Setting a lower output limit lowers the hold." : ""),
                Code: "insufficient_quota"),
            // Same 402 shape as running out of credits (OpenAI type insufficient_quota), told apart by its code.
            ReserveStatus.TaskBudgetExceeded => new GatewayError(GatewayErrorKind.InsufficientCredits,
                $"Task budget exceeded: task '{call.Task}' cannot hold another {call.Estimate.Held} credits within its budget " +
                $"(this request is estimated at {call.Estimate.Credits} credits).",
                Code: "task_budget_exceeded"),
            ReserveStatus.UnknownAccount => new GatewayError(GatewayErrorKind.Unauthorized, "The account of this key no longer exists.", Code: "invalid_api_key"),
            _ => new GatewayError(GatewayErrorKind.BadRequest, "This request id was already used.", Code: "duplicate_request"),
        };
    }

    /// <summary>
    /// A clamp plan never goes into debt: the upstream is told the limit its hold covers, whether the limit was lowered
    /// or the request set none (then the hold covers the model's maximum output).
    /// </summary>
    private static void SetForwardedLimit(MeteredCall call, bool clamp)
    {
        if (SupportsOutputLimit(call.Request) && call.Estimate.OutputLimit is > 0 and var held
            && (call.Clamped || (clamp && call.Request.MaxOutputTokens is null)))
            call.ForwardedOutputLimit = (int)Math.Min(held, int.MaxValue);
    }

    private static string LimitText(MeteredCall call) =>
        call.Estimate.OutputLimit is > 0 and var limit ? $": {limit} output tokens" + (call.Request.N > 1 ? $" for each of {call.Request.N} choices" : "") : "";

    /// <summary>
    /// Whether a lease may decide the call alone: not when a task budget sums over the task's calls on every instance,
    /// nor for an asynchronous video job (its hold waits in the database for a poll that any instance may serve).
    /// </summary>
    private static bool CanLease(MeteredCall call) => call.Task is null && call.Request.Operation != Operation.OpenAiVideos;

    private static bool SupportsOutputLimit(ParsedRequest request) => request.Dialect.HasOutputLimit(request.Operation);
}
