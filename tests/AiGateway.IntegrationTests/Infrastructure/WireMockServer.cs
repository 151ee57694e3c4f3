using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AiGateway.IntegrationTests.Infrastructure;

/// <summary>
/// Real WireMock (the Java original, from the <c>wiremock</c> npm package installed by tests/setup.sh) on a free
/// loopback port. Tests isolate themselves with a unique URL path prefix per scope, so they can run in parallel.
/// </summary>
public sealed class WireMockServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly HttpClient _admin;

    private WireMockServer(Process process, int port)
    {
        _process = process;
        Port = port;
        BaseUrl = $"http://127.0.0.1:{port}";
        _admin = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>The loopback port WireMock listens on.</summary>
    public int Port { get; }

    /// <summary>The base URL, e.g. http://127.0.0.1:12345.</summary>
    public string BaseUrl { get; }

    /// <summary>Path of the WireMock standalone jar.</summary>
    public static string JarPath => Path.Combine(RepoPaths.Root, "tests", "tools", "node_modules", "wiremock", "build", "wiremock-standalone-3.13.2.jar");

    /// <summary>Starts WireMock and waits until its admin API answers.</summary>
    public static async Task<WireMockServer> StartAsync()
    {
        if (!File.Exists(JarPath))
        {
            throw new InvalidOperationException($"WireMock jar missing at {JarPath}: run tests/setup.sh (the README's test command does).");
        }
        var port = FreePort();
        var psi = new ProcessStartInfo("java")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "-Xms64m", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", JarPath, "--port", port.ToString(),
                     "--bind-address", "127.0.0.1", "--disable-banner", "--async-response-enabled", "true",
                     "--container-threads", "64", "--jetty-acceptor-threads", "2",
                 })
        {
            psi.ArgumentList.Add(arg);
        }
        var process = Process.Start(psi) ?? throw new InvalidOperationException("java did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new WireMockServer(process, port);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException($"WireMock exited with code {process.ExitCode}");
            try
            {
                using var response = await server._admin.GetAsync("/__admin/health");
                if (response.IsSuccessStatusCode) return server;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200);
        }
        await server.DisposeAsync();
        throw new TimeoutException("WireMock did not become ready within 60 s");
    }

    /// <summary>A new isolated scope: its own URL prefix for stubs and received requests.</summary>
    public WireMockScope NewScope() => new(this, "/t" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>Registers one stub mapping (WireMock JSON mapping format).</summary>
    public async Task StubAsync(JsonObject mapping)
    {
        using var response = await _admin.PostAsync("/__admin/mappings",
            new StringContent(mapping.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"WireMock rejected mapping: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>Requests WireMock received whose URL starts with the prefix, oldest first.</summary>
    public async Task<IReadOnlyList<ReceivedRequest>> ReceivedAsync(string urlPrefix)
    {
        var json = await _admin.GetFromJsonAsync<JsonObject>("/__admin/requests?limit=10000")
                   ?? throw new InvalidOperationException("no journal");
        var list = new List<ReceivedRequest>();
        foreach (var entry in json["requests"]!.AsArray())
        {
            var request = entry!["request"]!;
            var url = request["url"]!.GetValue<string>();
            if (!url.StartsWith(urlPrefix, StringComparison.Ordinal)) continue;
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (request["headers"] is JsonObject h)
            {
                foreach (var (name, value) in h) headers[name] = value is JsonArray a ? string.Join(",", a) : value!.ToString();
            }
            list.Add(new ReceivedRequest(request["method"]!.GetValue<string>(), url, headers,
                request["body"]?.GetValue<string>() ?? "", request["loggedDate"]!.GetValue<long>()));
        }
        list.Sort((a, b) => a.LoggedAtMs.CompareTo(b.LoggedAtMs));
        return list;
    }

    public async ValueTask DisposeAsync()
    {
        _admin.Dispose();
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception)
        {
            // Best effort: the process may already be gone.
        }
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>One request as WireMock's journal recorded it.</summary>
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
