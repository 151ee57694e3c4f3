using System.Text.Json.Nodes;
using AiGateway.MockUpstream;

namespace AiGateway.IntegrationTests.Infrastructure;

/// <summary>
/// The tests' upstream: WireMock.Net in-process on a free loopback port (<see cref="MockUpstreamServer"/>, shared with
/// the demo upstream), fed with stubs in WireMock's JSON mapping format. No Java, Node or child process: it stops with
/// the test host. Tests isolate themselves with a unique URL path prefix per scope, so they can run in parallel.
/// </summary>
public sealed class WireMockServer : IAsyncDisposable
{
    private readonly MockUpstreamServer _server;

    private WireMockServer(MockUpstreamServer server) => _server = server;

    /// <summary>The loopback port WireMock listens on.</summary>
    public int Port => _server.Port;

    /// <summary>The base URL, e.g. http://127.0.0.1:12345.</summary>
    public string BaseUrl => _server.BaseUrl;

    /// <summary>Starts an in-process server (listening once this returns).</summary>
    public static Task<WireMockServer> StartAsync() => Task.FromResult(new WireMockServer(MockUpstreamServer.Start()));

    /// <summary>A new isolated scope: its own URL prefix for stubs and received requests.</summary>
    public WireMockScope NewScope() => new(this, "/t" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>
    /// Registers one stub mapping in WireMock's JSON format (see <see cref="JavaStubMapping"/> for the supported
    /// fields; an unsupported one throws <see cref="NotSupportedException"/> rather than being ignored).
    /// </summary>
    public Task StubAsync(JsonObject mapping)
    {
        _server.Stub(mapping);
        return Task.CompletedTask;
    }

    /// <summary>Requests received whose URL starts with the prefix, oldest first (recorded on arrival).</summary>
    public Task<IReadOnlyList<ReceivedRequest>> ReceivedAsync(string urlPrefix) =>
        Task.FromResult<IReadOnlyList<ReceivedRequest>>(_server.Received(urlPrefix)
            .Select(r => new ReceivedRequest(r.Method, r.Url, r.Headers, r.Body, r.LoggedAt.ToUnixTimeMilliseconds()))
            .ToList());

    public ValueTask DisposeAsync()
    {
        _server.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>One request as the upstream recorded it on arrival.</summary>
public sealed record ReceivedRequest(string Method, string Url, IReadOnlyDictionary<string, string> Headers, string Body, long LoggedAtMs);

/// <summary>A test's private corner of the shared WireMock: every stub and upstream address carries its prefix.</summary>
public sealed class WireMockScope(WireMockServer server, string prefix)
{
    /// <summary>The URL path prefix of this scope, e.g. /t0123456789ab.</summary>
    public string Prefix { get; } = prefix;

    /// <summary>The address to use as a cluster destination (the gateway appends the provider path).</summary>
    public string UpstreamAddress => server.BaseUrl + Prefix + "/";

    /// <summary>Stubs <paramref name="method"/> <paramref name="path"/> (relative to the scope) with a response object in WireMock's format.</summary>
    public Task StubAsync(string method, string path, JsonObject response, int? priority = null, JsonObject? extraRequest = null)
    {
        var request = new JsonObject { ["method"] = method, ["urlPath"] = Prefix + path };
        if (extraRequest is not null)
        {
            foreach (var (k, v) in extraRequest) request[k] = v?.DeepClone();
        }
        var mapping = new JsonObject { ["request"] = request, ["response"] = response };
        if (priority is not null) mapping["priority"] = priority;
        return server.StubAsync(mapping);
    }

    /// <summary>Stubs a JSON response with a given status.</summary>
    public Task StubJsonAsync(string method, string path, int status, string jsonBody, JsonObject? extraResponse = null) =>
        StubAsync(method, path, Response(status, jsonBody, "application/json", extraResponse));

    /// <summary>Stubs a server-sent-events response (the body is sent as given).</summary>
    public Task StubSseAsync(string method, string path, string sseBody, JsonObject? extraResponse = null) =>
        StubAsync(method, path, Response(200, sseBody, "text/event-stream", extraResponse));

    /// <summary>Requests received in this scope, oldest first.</summary>
    public Task<IReadOnlyList<ReceivedRequest>> ReceivedAsync() => server.ReceivedAsync(Prefix);

    private static JsonObject Response(int status, string body, string contentType, JsonObject? extra)
    {
        var response = new JsonObject
        {
            ["status"] = status,
            ["body"] = body,
            ["headers"] = new JsonObject { ["Content-Type"] = contentType },
        };
        if (extra is not null)
        {
            foreach (var (k, v) in extra) response[k] = v?.DeepClone();
        }
        return response;
    }
}
