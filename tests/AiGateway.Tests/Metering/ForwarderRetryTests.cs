using System.Text;
using AiGateway.Accounts;
using AiGateway.Metering;
using AiGateway.Pricing;
using AiGateway.Providers;
using AiGateway.Proxy;
using AiGateway.Telemetry;
using AiGateway.Tests.Pricing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace AiGateway.Tests.Metering;

/// <summary>
/// The forward step's retries (issue #13: a loop instead of Polly's retry strategy, same behaviour): how many attempts,
/// which delay between them, and what a client that left does to them. The upstream is a scripted forwarder that answers
/// as <see cref="ResponseMeter"/> does (a retriable answer is withheld by setting <see cref="MeteredCall.RetryRequested"/>).
/// </summary>
public sealed class ForwarderRetryTests
{
    private static readonly PriceBook Book = new(PricingTestData.Options(("m", PricingTestData.Text(m => m.Output = 1))));

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 3)]
    [InlineData(5, 5)]
    public async Task EveryAnswerRetriable_MakesExactlyMaxAttempts_WithTheConfiguredDelayBetween(int maxAttempts, int expectedAttempts)
    {
        var (forwarder, upstream, time) = Forwarder(new MeteringOptions { MaxAttempts = maxAttempts, RetryDelay = TimeSpan.FromMilliseconds(250), BreakerMinimumThroughput = 100 },
            _ => (503, null));
        var (context, call) = Call();

        await forwarder.ForwardAsync(context, call, [1, 2, 3]);

        Assert.Equal(expectedAttempts, upstream.Sent);
        Assert.Equal(expectedAttempts, call.AttemptCount);
        Assert.Equal(string.Join(";", Enumerable.Repeat("primary:503", expectedAttempts)), call.Attempts);
        Assert.Equal(Enumerable.Repeat(TimeSpan.FromMilliseconds(250), expectedAttempts - 1), time.Delays);
    }

    [Fact]
    public async Task RetryAfterOfTheAnswer_IsTheDelay_ThenASuccessEndsTheRetries()
    {
        var (forwarder, upstream, time) = Forwarder(new MeteringOptions { MaxAttempts = 4 },
            attempt => attempt switch { 1 => (429, TimeSpan.FromSeconds(2)), 2 => (503, null), _ => (200, null) });
        var (context, call) = Call();

        await forwarder.ForwardAsync(context, call, [1]);

        Assert.Equal(3, upstream.Sent);
        Assert.Equal("primary:429;primary:503;primary:200", call.Attempts);
        Assert.Equal([TimeSpan.FromSeconds(2), new MeteringOptions().RetryDelay], time.Delays);
        Assert.Equal(200, context.Response.StatusCode);
    }

    [Fact]
    public async Task EachAttempt_ForwardsTheWholeBodyAgain()
    {
        var bodies = new List<string>();
        var (forwarder, _, _) = Forwarder(new MeteringOptions { MaxAttempts = 3 }, _ => (503, null), context =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8, leaveOpen: true);
            bodies.Add(reader.ReadToEnd() + "/" + context.Request.ContentLength);
        });
        var (context, call) = Call();

        await forwarder.ForwardAsync(context, call, Encoding.UTF8.GetBytes("{\"a\":1}"));

        Assert.Equal(["{\"a\":1}/7", "{\"a\":1}/7", "{\"a\":1}/7"], bodies);
    }

    [Fact]
    public async Task ClientGoneAfterARetriableAnswer_Throws_WithoutAnotherAttempt()
    {
        using var aborted = new CancellationTokenSource();
        var (forwarder, upstream, time) = Forwarder(new MeteringOptions { MaxAttempts = 3 }, _ =>
        {
            aborted.Cancel();
            return (503, null);
        });
        var (context, call) = Call();
        context.RequestAborted = aborted.Token;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => forwarder.ForwardAsync(context, call, [1]));

        Assert.Equal(1, upstream.Sent);
        Assert.Equal("primary:503", call.Attempts);
    }

    [Fact]
    public async Task ClientGoneBeforeTheFirstAttempt_Throws_WithoutForwarding()
    {
        var (forwarder, upstream, _) = Forwarder(new MeteringOptions(), _ => (200, null));
        var (context, call) = Call();
        context.RequestAborted = new CancellationToken(canceled: true);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => forwarder.ForwardAsync(context, call, [1]));

        Assert.Equal(0, upstream.Sent);
    }

    private static (ResilientForwarder Forwarder, ScriptedUpstream Upstream, RecordingTime Time) Forwarder(
        MeteringOptions options, Func<int, (int Status, TimeSpan? RetryAfter)> answer, Action<HttpContext>? onSend = null)
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new GatewayMetrics(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), services);
        var upstream = new ScriptedUpstream(answer, onSend);
        var time = new RecordingTime();
        return (new ResilientForwarder(upstream, Options.Create(options), time, metrics, NullLogger<ResilientForwarder>.Instance), upstream, time);
    }

    private static (HttpContext Context, MeteredCall Call) Call()
    {
        var request = ProviderRequestParser.Parse(ProviderFormat.OpenAi, "v1/chat/completions", null,
            Encoding.UTF8.GetBytes("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""")).Request!;
        var estimate = new CallEstimator(Book, new OutputTokenStats()).Estimate(request).Estimate!;
        var call = new MeteredCall("req_1", new CallerAccount(Guid.NewGuid(), Guid.NewGuid(), "agw_test", null), request, estimate, "openai", "openai",
            DateTimeOffset.UnixEpoch);
        var context = new DefaultHttpContext();
        var destination = new DestinationState("primary", new DestinationModel(new DestinationConfig { Address = "http://127.0.0.1:9/" }));
        context.Features.Set<IReverseProxyFeature>(new ReverseProxyFeature
        {
            Route = new RouteModel(new RouteConfig { RouteId = "openai", ClusterId = "openai" }, null, HttpTransformer.Default),
            Cluster = new ClusterModel(new ClusterConfig { ClusterId = "openai" }, new HttpMessageInvoker(new HttpClientHandler())),
            AllDestinations = [destination],
            AvailableDestinations = [destination],
        });
        context.Features.Set(call);
        return (context, call);
    }

    /// <summary>An upstream whose n-th answer (from 1) is scripted; a retriable one is withheld as the response meter does.</summary>
    private sealed class ScriptedUpstream(Func<int, (int Status, TimeSpan? RetryAfter)> answer, Action<HttpContext>? onSend) : IHttpForwarder
    {
        public int Sent { get; private set; }

        public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient,
            ForwarderRequestConfig requestConfig, HttpTransformer transformer)
        {
            Sent++;
            onSend?.Invoke(context);
            var call = context.Features.Get<MeteredCall>()!;
            var (status, retryAfter) = answer(Sent);
            call.UpstreamStatus = status;
            if (call.CanRetry && status is 429 or 502 or 503 or 504)
            {
                call.RetryRequested = true;
                call.RetryAfter = retryAfter;
            }
            else
            {
                context.Response.StatusCode = status;
            }
            return ValueTask.FromResult(ForwarderError.None);
        }

        public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient,
            ForwarderRequestConfig requestConfig, HttpTransformer transformer, CancellationToken cancellationToken) =>
            SendAsync(context, destinationPrefix, httpClient, requestConfig, transformer);
    }

    /// <summary>System time, except that timers (the retry delays) are recorded and fire at once.</summary>
    private sealed class RecordingTime : TimeProvider
    {
        private readonly List<TimeSpan> _delays = [];

        public IReadOnlyList<TimeSpan> Delays
        {
            get { lock (_delays) return _delays.ToList(); }
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            lock (_delays) _delays.Add(dueTime);
            ThreadPool.QueueUserWorkItem(_ => callback(state));
            return new NoTimer();
        }

        private sealed class NoTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;
            public void Dispose() { }
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
