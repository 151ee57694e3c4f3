using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Settings;

namespace AiGateway.IntegrationTests.Notifications;

/// <summary>
/// A real webhook receiver: WireMock.Net on a loopback port whose answer to the n-th request (1-based) a test decides
/// (a status, or a wait first). Every request is recorded on arrival with its headers and body.
/// </summary>
public sealed class WebhookReceiver : IDisposable
{
    /// <summary>The endpoint secret the tests configure (Standard Webhooks format).</summary>
    public const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    private readonly WireMock.Server.WireMockServer _server;
    private readonly ConcurrentQueue<Delivery> _arrived = new();
    private readonly ConcurrentDictionary<int, int> _answered = new();
    private int _count;

    /// <summary>Starts a receiver answering through <paramref name="respond"/> (request number → status).</summary>
    public WebhookReceiver(Func<int, Task<int>> respond)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var port = FreePort();
                _server = WireMock.Server.WireMockServer.Start(new WireMockServerSettings
                {
                    Urls = [$"http://127.0.0.1:{port}"], StartAdminInterface = false, DisableJsonBodyParsing = true,
                });
                Url = $"http://127.0.0.1:{port}/hooks/billing";
                break;
            }
            catch (Exception) when (attempt < 3)
            {
            }
        }
        _server.Given(Request.Create().WithPath("/hooks/billing").UsingPost()).RespondWith(Response.Create().WithCallback(async request =>
        {
            var n = Interlocked.Increment(ref _count);
            var headers = request.Headers!.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()!);
            _arrived.Enqueue(new Delivery(n, headers, request.Body ?? ""));
            var status = await respond(n);
            _answered[n] = status;
            return new WireMock.ResponseMessage { StatusCode = status };
        }));
    }

    /// <summary>Always answers <paramref name="status"/>.</summary>
    public static WebhookReceiver Answering(int status) => new(_ => Task.FromResult(status));

    /// <summary>The URL to configure as the endpoint.</summary>
    public string Url { get; }

    /// <summary>Requests received so far, in arrival order.</summary>
    public IReadOnlyList<Delivery> Arrived => _arrived.OrderBy(d => d.Number).ToList();

    /// <summary>The status answered to request <paramref name="number"/>, null while it is still waiting.</summary>
    public int? AnswerTo(int number) => _answered.TryGetValue(number, out var status) ? status : null;

    /// <summary>Waits until <paramref name="condition"/> holds for the requests received (fails after a minute).</summary>
    public async Task WaitForAsync(Func<IReadOnlyList<Delivery>, bool> condition, string what)
    {
        var until = DateTime.UtcNow.AddMinutes(1);
        while (!condition(Arrived))
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"The receiver never saw: {what} (got {Arrived.Count} requests).");
            await Task.Delay(50);
        }
    }

    public void Dispose() => _server.Stop();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>One request as received.</summary>
    public sealed record Delivery(int Number, IReadOnlyDictionary<string, string> Headers, string Body)
    {
        /// <summary>The <c>webhook-id</c> header.</summary>
        public string Id => Headers["webhook-id"];

        /// <summary>The parsed body.</summary>
        public JsonNode Json => JsonNode.Parse(Body)!;

        /// <summary>
        /// Verifies the signature as a receiver must, independently of the gateway's code: HMAC-SHA256 keyed by the base64 after
        /// <c>whsec_</c> over <c>{webhook-id}.{webhook-timestamp}.{body}</c>, compared in constant time with each <c>v1,</c> entry.
        /// </summary>
        public bool SignatureValid(string? body = null)
        {
            var key = Convert.FromBase64String(Secret["whsec_".Length..]);
            var expected = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{Headers["webhook-id"]}.{Headers["webhook-timestamp"]}.{body ?? Body}"));
            return Headers["webhook-signature"].Split(' ').Any(s => s.StartsWith("v1,", StringComparison.Ordinal)
                && CryptographicOperations.FixedTimeEquals(Convert.FromBase64String(s[3..]), expected));
        }
    }
}
