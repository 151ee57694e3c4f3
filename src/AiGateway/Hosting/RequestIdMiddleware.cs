namespace AiGateway.Hosting;

/// <summary>Gives every request a gateway-generated id, returned as <c>X-Request-Id</c> and used as the call record's id.</summary>
public sealed class RequestIdMiddleware(RequestDelegate next)
{
    /// <summary>The response header carrying the request id.</summary>
    public const string HeaderName = "X-Request-Id";

    public Task InvokeAsync(HttpContext context)
    {
        // Never trust a client-sent id: call records are keyed by it, so it must be unique and unguessable.
        var id = RequestIds.New();
        context.TraceIdentifier = id;
        context.Response.Headers[HeaderName] = id;
        // A handler that clears the response (an error answer written late) must not leave it without its id.
        context.Response.OnStarting(static state =>
        {
            var (response, requestId) = ((HttpResponse, string))state;
            if (!response.Headers.ContainsKey(HeaderName)) response.Headers[HeaderName] = requestId;
            return Task.CompletedTask;
        }, (context.Response, id));
        return next(context);
    }
}
