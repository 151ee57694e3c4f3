using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using WireMock.Server;
using WireMock.Settings;

namespace AiGateway.MockUpstream;

/// <summary>One request as the upstream received it (recorded on arrival, before any delay or fault).</summary>
/// <param name="Method">HTTP method.</param>
/// <param name="Url">Path and query as received (raw, like WireMock's journal <c>url</c>).</param>
/// <param name="Headers">Request headers; repeated values joined with commas.</param>
/// <param name="Body">Request body as UTF-8 text.</param>
/// <param name="LoggedAt">When the request arrived.</param>
public sealed record RecordedRequest(string Method, string Url, IReadOnlyDictionary<string, string> Headers, string Body, DateTimeOffset LoggedAt);

/// <summary>
/// WireMock.Net in-process on a loopback port, fed with WireMock-format JSON stubs (<see cref="JavaStubMapping"/>).
/// A middleware in front of WireMock.Net's own records every request on arrival and serves what WireMock.Net cannot
/// express: WireMock's <c>chunkedDribbleDelay</c> (the body written in N flushed chunks spread over the duration) and
/// its connection faults, written on the raw socket the way WireMock does (WireMock.Net's own EMPTY_RESPONSE and
/// MALFORMED_RESPONSE_CHUNK send a complete, well-formed HTTP response, which is not a fault to an HTTP client).
/// Everything runs inside the calling process: nothing outlives it.
/// </summary>
public sealed class MockUpstreamServer : IDisposable
{
    private readonly WireMockServer _server;
    private readonly ConcurrentQueue<RecordedRequest> _journal = new();

    private MockUpstreamServer(int port, bool recordRequests)
    {
        RecordRequests = recordRequests;
        _server = WireMockServer.Start(new WireMockServerSettings
        {
            Urls = [$"http://127.0.0.1:{port}"],
            StartAdminInterface = false,
            Logger = new ErrorLogger(),
            // Request bodies stay text, so body patterns and templates see exactly what was sent.
            DisableJsonBodyParsing = true,
            // The journal lives in the middleware (on arrival); WireMock.Net's own log (after the response) is not needed.
            MaxRequestLogCount = 0,
            PreWireMockMiddlewareInit = app => ((IApplicationBuilder)app).Use(next => context => HandleAsync(context, next)),
        });
        Port = port;
        BaseUrl = $"http://127.0.0.1:{port}";
    }

    /// <summary>The loopback port.</summary>
    public int Port { get; }

    /// <summary>The base URL, e.g. http://127.0.0.1:12345.</summary>
    public string BaseUrl { get; }

    /// <summary>Whether requests are kept in <see cref="Received"/> (tests: yes; a long-running demo: no).</summary>
    public bool RecordRequests { get; }

    /// <summary>Starts a server on <paramref name="port"/> (0: a free port) on 127.0.0.1.</summary>
    public static MockUpstreamServer Start(int port = 0, bool recordRequests = true)
    {
        // WireMock.Net needs the port up front; a just-freed ephemeral port is taken again at once (retry if raced).
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new MockUpstreamServer(port == 0 ? FreePort() : port, recordRequests);
            }
            catch (Exception) when (port == 0 && attempt < 3)
            {
            }
        }
    }

    /// <summary>Adds one stub in WireMock's JSON mapping format.</summary>
    public void Stub(JsonObject mapping) => JavaStubMapping.Register(_server, mapping);

    /// <summary>Adds every mapping file of a directory; returns how many.</summary>
    public int StubDirectory(string directory) => JavaStubMapping.RegisterDirectory(_server, directory);

    /// <summary>Requests received so far whose URL starts with <paramref name="urlPrefix"/>, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Received(string urlPrefix = "") =>
        _journal.Where(r => r.Url.StartsWith(urlPrefix, StringComparison.Ordinal)).ToList();

    /// <summary>Stops the server.</summary>
    public void Dispose()
    {
        _server.Stop();
        _server.Dispose();
    }

    private async Task HandleAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await ServeAsync(context, next);
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
        {
            Console.Error.WriteLine($"[MockUpstream] {context.Request.Method} {context.Request.Path}: {e}");
            throw;
        }
    }

    private async Task ServeAsync(HttpContext context, RequestDelegate next)
    {
        if (RecordRequests) await RecordAsync(context);

        // WireMock.Net writes into a buffer; this middleware then decides how the bytes reach the socket.
        var socketBody = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = socketBody;
        }

        var headers = context.Response.Headers;
        if (headers.Remove(JavaStubMapping.FaultHeader, out var fault))
        {
            await FaultAsync(context, fault.ToString());
            return;
        }
        buffer.Position = 0;
        if (headers.Remove(JavaStubMapping.DribbleHeader, out var dribble))
        {
            await DribbleAsync(context, buffer, dribble.ToString());
            return;
        }
        if (buffer.Length > 0) context.Response.ContentLength = buffer.Length;
        await buffer.CopyToAsync(socketBody, context.RequestAborted);
    }

    private async Task RecordAsync(HttpContext context)
    {
        context.Request.EnableBuffering();
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        context.Request.Body.Position = 0;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in context.Request.Headers) headers[name] = string.Join(",", values.ToArray());
        var url = context.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw
            ? raw
            : context.Request.Path + context.Request.QueryString;
        _journal.Enqueue(new RecordedRequest(context.Request.Method, url, headers, body, DateTimeOffset.UtcNow));
    }

    /// <summary>
    /// WireMock's <c>chunkedDribbleDelay</c>: the body in <c>numberOfChunks</c> pieces, each flushed, with
    /// <c>totalDuration / numberOfChunks</c> between them (chunked transfer, no Content-Length).
    /// </summary>
    private static async Task DribbleAsync(HttpContext context, MemoryStream buffer, string spec)
    {
        var parts = spec.Split(';');
        var chunks = int.Parse(parts[0]);
        var interval = TimeSpan.FromMilliseconds(double.Parse(parts[1]) / chunks);
        var bytes = buffer.ToArray();
        var size = Math.Max(1, (int)Math.Ceiling(bytes.Length / (double)chunks));
        try
        {
            await context.Response.StartAsync(context.RequestAborted);
            for (var offset = 0; offset < bytes.Length; offset += size)
            {
                if (offset > 0) await Task.Delay(interval, context.RequestAborted);
                await context.Response.Body.WriteAsync(bytes.AsMemory(offset, Math.Min(size, bytes.Length - offset)), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ConnectionResetException)
        {
            // The client went away mid-dribble: that is the scenario many of these stubs exist for.
        }
    }

    /// <summary>WireMock's faults, on the connection's socket (Kestrel exposes it) rather than as an HTTP response.</summary>
    private static async Task FaultAsync(HttpContext context, string fault)
    {
        var socket = context.Features.Get<IConnectionSocketFeature>()?.Socket;
        try
        {
            switch (fault)
            {
                case "CONNECTION_RESET_BY_PEER" when socket is not null:
                    // Linger 0: closing sends a TCP RST instead of a FIN, as WireMock does.
                    socket.LingerState = new LingerOption(true, 0);
                    socket.Close();
                    break;
                case "MALFORMED_RESPONSE_CHUNK" when socket is not null:
                    // A status line and a chunked header, then bytes that are not a chunk, then close.
                    var head = $"HTTP/1.1 {context.Response.StatusCode} {ReasonPhrase(context.Response.StatusCode)}\r\nTransfer-Encoding: chunked\r\n\r\n";
                    await socket.SendAsync(Encoding.ASCII.GetBytes(head).Concat(Garbage()).ToArray(), SocketFlags.None);
                    socket.Shutdown(SocketShutdown.Both);
                    break;
                case "RANDOM_DATA_THEN_CLOSE" when socket is not null:
                    await socket.SendAsync(Garbage(), SocketFlags.None);
                    socket.Shutdown(SocketShutdown.Both);
                    break;
                case "EMPTY_RESPONSE" when socket is not null:
                    socket.Shutdown(SocketShutdown.Both);
                    break;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The peer may already be gone; the connection is being torn down either way.
        }
        // Without the socket (another transport) every fault degrades to closing the connection without a response.
        context.Abort();
    }

    private static byte[] Garbage()
    {
        // Starts with a byte that is neither a hex digit nor a status line, so no HTTP client can take it as valid.
        var bytes = RandomNumberGenerator.GetBytes(64);
        bytes[0] = (byte)'!';
        return bytes;
    }

    private static string ReasonPhrase(int status) => ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } p ? p : "Unknown";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
