using AiGateway.Pricing;

namespace AiGateway.Metering;

/// <summary>The credit headers of metered responses (amounts in credits as decimal numbers).</summary>
public static class CreditHeaders
{
    /// <summary>The pre-call estimate: the expected cost.</summary>
    public const string Estimate = "X-Credits-Estimate";

    /// <summary>What was held for the call: its worst case (or what refusing it would have needed, on a 402).</summary>
    public const string Held = "X-Credits-Held";

    /// <summary>Available credits after this call's hold (streams, errors) or charge (non-streaming 2xx).</summary>
    public const string Remaining = "X-Credits-Remaining";

    /// <summary>The settled charge (non-streaming responses only).</summary>
    public const string Charged = "X-Credits-Charged";

    /// <summary>Writes the estimate, the hold and the remaining balance; adds the charge when it is known before the body is sent.</summary>
    public static void Write(HttpResponse response, MeteredCall call, Credits remaining, Credits? charged)
    {
        response.Headers[Estimate] = call.Estimate.Credits.ToString();
        // Unlimited models hold nothing; a refused call shows the hold it would have needed.
        response.Headers[Held] = (call.Unlimited ? Credits.Zero : call.Estimate.Held).ToString();
        response.Headers[Remaining] = remaining.ToString();
        if (charged is { } c) response.Headers[Charged] = c.ToString();
    }
}
