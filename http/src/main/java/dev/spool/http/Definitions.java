package dev.spool.http;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValueFactory;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Created;
import dev.spool.Names;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Queue, consumer and token definitions as one document, queues and consumers in the wire form of
 * {@code PUT /queues/{q}} and {@code PUT /queues/{q}/consumers/{c}}, tokens as names, SHA-256 hashes,
 * roles and queue patterns (never a token itself): exported from a running service, kept under
 * version control, imported into another ({@code GET} and {@code POST /api/v1/definitions}) or
 * declared in {@code spool.definitions} and applied at start.
 *
 * <p>An import is checked whole first: a document with a bad name, setting or duplicate changes
 * nothing. Then each definition is declared in turn, idempotently (equal settings are left as
 * they are); one that conflicts with what exists is reported and the others still apply.
 * Dead-letter queues are declared before the queues that name them.
 */
final class Definitions {

  private static final Logger log = LoggerFactory.getLogger(Definitions.class);

  private Definitions() {}

  /** Queues, consumers and tokens; any list may be absent. */
  record Document(List<QueueDefinition> queues, List<ConsumerDefinition> consumers, List<TokenDefinition> tokens) {
    Document {
      queues = queues == null ? List.of() : List.copyOf(queues);
      consumers = consumers == null ? List.of() : List.copyOf(consumers);
      tokens = tokens == null ? List.of() : List.copyOf(tokens);
      Set<String> tokenNames = new HashSet<>();
      for (TokenDefinition t : tokens) {
        if (!tokenNames.add(t.name())) {
          throw Requests.invalid("tokens", "defines token '" + t.name() + "' twice");
        }
      }
      Set<String> names = new HashSet<>();
      for (QueueDefinition q : queues) {
        if (!names.add(q.name())) {
          throw Requests.invalid("queues", "defines queue '" + q.name() + "' twice");
        }
      }
      Set<String> consumerNames = new HashSet<>();
      for (ConsumerDefinition c : consumers) {
        if (!consumerNames.add(c.queue() + '\0' + c.name())) {
          throw Requests.invalid("consumers", "defines consumer '" + c.name() + "' of queue '" + c.queue() + "' twice");
        }
      }
    }
  }

  /** A queue: its name and its settings as {@code PUT /queues/{q}} takes them, checked as the document is read. */
  record QueueDefinition(String name, Requests.QueueBody settings) {
    QueueDefinition {
      if (name == null) {
        throw Requests.invalid("queues[].name", "is required");
      }
      Names.requireValid("queue", name);
      settings = settings == null ? new Requests.QueueBody(null, null, null, null, null, null, null, null, null, null,
          null, null) : settings;
      QueueSettings checked = named("queue '" + name + "'", settings::toSettings); // a bad setting refuses the document
      if (checked.deadLetter() != null && checked.deadLetter().queue().equals(name)) {
        throw Requests.invalid("queues[].settings.deadLetter", "of queue '" + name + "' names the queue itself");
      }
    }

    QueueSettings resolved() {
      return settings.toSettings();
    }
  }

  /** A consumer: its queue, name and settings as {@code PUT /queues/{q}/consumers/{c}} takes them. */
  record ConsumerDefinition(String queue, String name, Requests.ConsumerBody settings) {
    ConsumerDefinition {
      if (queue == null || name == null) {
        throw Requests.invalid("consumers[]", "needs a queue and a name");
      }
      Names.requireValid("queue", queue);
      Names.requireValid("consumer", name);
      settings = settings == null ? new Requests.ConsumerBody(null, null, null, null, null, null, null, null, null, null)
          : settings;
      Requests.ConsumerBody body = settings;
      named("consumer '" + name + "' of queue '" + queue + "'", () -> body.toSettings(name));
    }
  }

  /** {@code rule}'s answer; its refusal says which definition it is about, so a long document's error can be found. */
  private static <T> T named(String definition, java.util.function.Supplier<T> rule) {
    try {
      return rule.get();
    } catch (SpoolException.InvalidConfiguration e) {
      throw new SpoolException.InvalidConfiguration(definition + ": " + e.getMessage());
    }
  }

  /**
   * A bearer token: who holds it, the SHA-256 of the token ({@code printf %s "$TOKEN" | sha256sum}),
   * its roles and the queue patterns its producer and consumer roles apply to.
   */
  record TokenDefinition(String name, String sha256, List<String> roles, List<String> queues) {
    TokenDefinition {
      if (name == null) {
        throw Requests.invalid("tokens[].name", "is required");
      }
      try {
        HttpSettings.TokenEntry entry = HttpSettings.TokenEntry.of(name, sha256, roles, queues);
        sha256 = entry.sha256();
        roles = Authenticator.roleNames(entry.roles());
        queues = entry.queues();
      } catch (SpoolException e) {
        throw Requests.invalid("tokens[]", e.getMessage());
      }
    }

    static TokenDefinition of(HttpSettings.TokenEntry t) {
      return new TokenDefinition(t.name(), t.sha256(), Authenticator.roleNames(t.roles()), t.queues());
    }

    HttpSettings.TokenEntry entry() {
      return HttpSettings.TokenEntry.of(name, sha256, roles, queues);
    }
  }

  /** What an import did: the definitions created, those already there as defined, and those refused. */
  record Report(List<String> created, List<String> unchanged, List<Refusal> refused) {}

  /** A definition that was not applied, with the error it met. */
  record Refusal(String definition, String error, String message) {}

  /**
   * The whole service's definitions: every queue, every consumer and every token but the generated
   * admin token, sorted by name.
   */
  static CompletionStage<Document> export(Spool spool, Authenticator authenticator) {
    return spool.listQueues().thenCompose(queues -> {
      List<QueueInfo> sorted = queues.stream().sorted(Comparator.comparing(QueueInfo::name)).toList();
      List<CompletableFuture<List<ConsumerInfo>>> consumers = sorted.stream()
          .map(q -> spool.listConsumers(q.name()).toCompletableFuture()).toList();
      return CompletableFuture.allOf(consumers.toArray(CompletableFuture[]::new)).thenApply(done -> {
        List<QueueDefinition> queueDefinitions = sorted.stream()
            .map(q -> new QueueDefinition(q.name(), body(Views.QueueSettingsView.of(q.settings())))).toList();
        List<ConsumerDefinition> consumerDefinitions = new ArrayList<>();
        for (CompletableFuture<List<ConsumerInfo>> list : consumers) {
          for (ConsumerInfo c : list.getNow(List.of())) {
            consumerDefinitions.add(new ConsumerDefinition(c.queue(), c.name(),
                body(Views.ConsumerSettingsView.of(c.settings()))));
          }
        }
        return new Document(queueDefinitions, consumerDefinitions,
            authenticator.tokens().stream().map(TokenDefinition::of).toList());
      });
    });
  }

  /** A view read back as the body that declares it: the view is the body's wire form. */
  private static Requests.QueueBody body(Views.QueueSettingsView view) {
    return Json.read(Json.write(view), Requests.QueueBody.class);
  }

  private static Requests.ConsumerBody body(Views.ConsumerSettingsView view) {
    return Json.read(Json.write(view), Requests.ConsumerBody.class);
  }

  /**
   * Declares every definition of {@code document} in turn, tokens first (imported, so written to the
   * data directory, on {@code blocking}); never fails, the report says what was refused.
   */
  static CompletionStage<Report> apply(Spool spool, Authenticator authenticator, Executor blocking,
      Document document) {
    List<String> created = new ArrayList<>();
    List<String> unchanged = new ArrayList<>();
    List<Refusal> refused = new ArrayList<>();
    CompletionStage<Void> chain = document.tokens().isEmpty() ? CompletableFuture.completedFuture(null)
        : CompletableFuture.runAsync(() -> {
          for (TokenDefinition t : document.tokens()) {
            String what = "token " + t.name();
            try {
              (authenticator.importToken(t.entry()) ? created : unchanged).add(what);
            } catch (SpoolException e) {
              refused.add(new Refusal(what, e.code().name(), e.getMessage()));
            }
          }
        }, blocking);
    chain = declareQueuesAndConsumers(spool, document, chain, created, unchanged, refused);
    return chain.thenApply(done -> new Report(created, unchanged, refused));
  }

  private static CompletionStage<Void> declareQueuesAndConsumers(Spool spool, Document document,
      CompletionStage<Void> chain, List<String> created, List<String> unchanged, List<Refusal> refused) {
    for (QueueDefinition q : inDeclarationOrder(document.queues())) {
      chain = chain.thenCompose(done -> declare("queue " + q.name(),
          () -> spool.declareQueue(q.name(), q.resolved()), created, unchanged, refused));
    }
    for (ConsumerDefinition c : document.consumers()) {
      ConsumerSettings settings = c.settings().toSettings(c.name());
      chain = chain.thenCompose(done -> declare("consumer " + c.name() + " of queue " + c.queue(),
          () -> spool.declareConsumer(c.queue(), settings), created, unchanged, refused));
    }
    return chain;
  }

  /** Dead-letter queues first: a queue is declared after every queue it dead-letters to. */
  private static List<QueueDefinition> inDeclarationOrder(List<QueueDefinition> queues) {
    Set<String> targets = new HashSet<>();
    for (QueueDefinition q : queues) {
      if (q.resolved().deadLetter() != null) {
        targets.add(q.resolved().deadLetter().queue());
      }
    }
    List<QueueDefinition> ordered = new ArrayList<>();
    queues.stream().filter(q -> targets.contains(q.name())).forEach(ordered::add);
    queues.stream().filter(q -> !targets.contains(q.name())).forEach(ordered::add);
    return ordered;
  }

  /** Tries of a declaration that timed out: declaring is idempotent, and a slow start is no refusal. */
  private static final int DECLARE_TRIES = 3;

  private static CompletionStage<Void> declare(String what, Supplier<CompletionStage<? extends Created<?>>> declare,
      List<String> created, List<String> unchanged, List<Refusal> refused) {
    return attempt(declare, DECLARE_TRIES).handle((result, failure) -> {
      if (failure == null) {
        (result.created() ? created : unchanged).add(what);
      } else {
        Throwable cause = cause(failure);
        String code = cause instanceof SpoolException se ? se.code().name() : "Internal";
        refused.add(new Refusal(what, code, cause.getMessage()));
      }
      return null;
    });
  }

  private static CompletionStage<? extends Created<?>> attempt(Supplier<CompletionStage<? extends Created<?>>> declare,
      int tries) {
    CompletionStage<? extends Created<?>> stage = start(declare);
    if (tries <= 1) {
      return stage;
    }
    return stage.handle((result, failure) -> failure != null && cause(failure) instanceof SpoolException.Timeout
            ? attempt(declare, tries - 1)
            : stage)
        .thenCompose(next -> next);
  }

  private static CompletionStage<? extends Created<?>> start(Supplier<CompletionStage<? extends Created<?>>> declare) {
    try {
      return declare.get();
    } catch (SpoolException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private static Throwable cause(Throwable failure) {
    return failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
  }

  /**
   * {@code spool.definitions} as read at start: its queues and consumers, or {@code null} when they
   * were refused; its good tokens, which apply whatever else is wrong (a typo in a queue must not
   * lock out the tokens declared beside it); and every bad definition found, each naming where it is.
   */
  record AtStart(Document document, List<HttpSettings.TokenEntry> tokens, List<String> errors) {
    static final AtStart NONE = new AtStart(null, List.of(), List.of());
  }

  /** Duration settings, which HOCON may write as {@code 1h} as well as the API's {@code PT1H}. */
  private static final List<String> QUEUE_DURATIONS = List.of("ttl", "retention", "dedupWindow");
  private static final List<String> CONSUMER_DURATIONS = List.of("ackTimeout", "inactiveTimeout", "backoff.initial",
      "backoff.max", "push.ackDeadline", "push.retry.initialDelay", "push.retry.maxDelay");
  /** Size settings, which HOCON may write as {@code 64m} or {@code 64MiB} as well as a number of bytes. */
  private static final List<String> QUEUE_SIZES = List.of("maxBytes");

  /**
   * Reads {@code spool.definitions}: every definition checked, in the API's wire form or with HOCON's
   * durations ({@code 10m}, or a number of milliseconds) and sizes ({@code 64m}). Queues and
   * consumers with any bad one among them are refused together, listing each bad definition, so that
   * a typo never half-applies a declared state; tokens are taken one by one.
   */
  static AtStart read(Config config) {
    if (!config.hasPath("spool.definitions")) {
      return AtStart.NONE;
    }
    List<String> errors = new ArrayList<>();
    Config block;
    try {
      block = config.getConfig("spool.definitions");
    } catch (ConfigException e) {
      return new AtStart(null, List.of(), List.of("spool.definitions: " + e.getMessage()));
    }
    for (String key : block.root().keySet()) {
      if (!List.of("queues", "consumers", "tokens").contains(key)) {
        errors.add("spool.definitions." + key + ": unknown: use queues, consumers and tokens");
      }
    }
    List<QueueDefinition> queues = entries(block, "queues", QUEUE_DURATIONS, QUEUE_SIZES, QueueDefinition.class,
        errors);
    List<ConsumerDefinition> consumers = entries(block, "consumers", CONSUMER_DURATIONS, List.of(),
        ConsumerDefinition.class, errors);
    List<String> tokenErrors = new ArrayList<>();
    List<TokenDefinition> tokens = entries(block, "tokens", List.of(), List.of(), TokenDefinition.class, tokenErrors);
    // Each name once: a name given twice is refused both times, as neither is more right.
    Map<String, Long> named = tokens.stream().collect(Collectors.groupingBy(TokenDefinition::name,
        Collectors.counting()));
    List<HttpSettings.TokenEntry> goodTokens = new ArrayList<>();
    for (TokenDefinition t : tokens) {
      if (named.get(t.name()) > 1) {
        tokenErrors.add("spool.definitions.tokens: defines token '" + t.name() + "' more than once");
      } else {
        goodTokens.add(t.entry());
      }
    }
    List<String> all = new ArrayList<>(errors);
    all.addAll(tokenErrors.stream().distinct().toList());
    if (!errors.isEmpty()) {
      return new AtStart(null, List.copyOf(goodTokens), List.copyOf(all));
    }
    try {
      return new AtStart(new Document(queues, consumers, List.of()), List.copyOf(goodTokens), List.copyOf(all));
    } catch (SpoolException e) {
      all.add("spool.definitions: " + e.getMessage());
      return new AtStart(null, List.copyOf(goodTokens), List.copyOf(all));
    }
  }

  private static <T> List<T> entries(Config block, String list, List<String> durations, List<String> sizes,
      Class<T> type, List<String> errors) {
    if (!block.hasPath(list)) {
      return List.of();
    }
    List<? extends Config> entries;
    try {
      entries = block.getConfigList(list);
    } catch (ConfigException e) {
      errors.add("spool.definitions." + list + ": must be a list of objects (" + e.getMessage() + ")");
      return List.of();
    }
    List<T> out = new ArrayList<>();
    for (int i = 0; i < entries.size(); i++) {
      Config entry = entries.get(i);
      String where = "spool.definitions." + list + "[" + i + "]"
          + (entry.hasPath("name") ? " (" + entry.root().get("name").unwrapped() + ")" : "");
      try {
        Config normalized = normalize(entry, durations, sizes);
        String json = normalized.root().render(ConfigRenderOptions.concise());
        out.add(Json.read(json.getBytes(StandardCharsets.UTF_8), type));
      } catch (SpoolException | ConfigException e) {
        errors.add(where + ": " + e.getMessage());
      }
    }
    return out;
  }

  /** HOCON durations and sizes under {@code settings} rewritten in the API's form (PT1H, bytes). */
  private static Config normalize(Config entry, List<String> durations, List<String> sizes) {
    Config out = entry;
    for (String key : durations) {
      String path = "settings." + key;
      Object value = entry.hasPath(path) ? entry.getValue(path).unwrapped() : null;
      // HOCON's own rule: a duration written as a bare number is milliseconds.
      if (value instanceof Number || value instanceof String text
          && !text.trim().toUpperCase(java.util.Locale.ROOT).startsWith("P")) {
        out = out.withValue(path, ConfigValueFactory.fromAnyRef(entry.getDuration(path).toString()));
      }
    }
    for (String key : sizes) {
      String path = "settings." + key;
      if (entry.hasPath(path) && entry.getValue(path).unwrapped() instanceof String) {
        out = out.withValue(path, ConfigValueFactory.fromAnyRef(entry.getBytes(path)));
      }
    }
    return out;
  }

  /**
   * Applies the queues and consumers of {@code spool.definitions} once the engine is ready (durable
   * queues recovered), logging what it did and reporting each problem to {@code problems}: a refused
   * block, a conflict (the rest still applies). Never stops the service. Its tokens were taken when
   * the authenticator was prepared; the ones refused there are in {@code refusedTokens}.
   */
  static void applyAtStart(Spool spool, AtStart atStart, List<String> refusedTokens, DefinitionProblems problems) {
    List<String> found = new ArrayList<>();
    for (String e : atStart.errors()) {
      log.error("spool.definitions not applied: {}", e);
      found.add("not applied: " + e);
    }
    for (String t : refusedTokens) {
      log.warn("spool.definitions: a token refused: {}", t);
      found.add("token refused: " + t);
    }
    problems.set(found);
    if (!atStart.tokens().isEmpty()) {
      log.info("spool.definitions: {} tokens declared", atStart.tokens().size() - refusedTokens.size());
    }
    Document document = atStart.document();
    if (document == null || document.queues().isEmpty() && document.consumers().isEmpty()) {
      return;
    }
    List<String> created = new ArrayList<>();
    List<String> unchanged = new ArrayList<>();
    List<Refusal> refused = new ArrayList<>();
    spool.ready().thenCompose(ready -> declareQueuesAndConsumers(spool, document, CompletableFuture.completedFuture(null),
        created, unchanged, refused)).thenApply(done -> new Report(created, unchanged, refused))
        .whenComplete((report, failure) -> {
      if (failure != null) {
        log.warn("spool.definitions not applied: {}", failure.getMessage());
        problems.add(List.of("not applied: " + failure.getMessage()));
        return;
      }
      log.info("spool.definitions applied: {} created, {} already as defined, {} refused", report.created().size(),
          report.unchanged().size(), report.refused().size());
      List<String> conflicts = new ArrayList<>();
      for (Refusal r : report.refused()) {
        log.warn("spool.definitions: {} refused: {}: {}", r.definition(), r.error(), r.message());
        conflicts.add(r.definition() + " refused: " + r.message());
      }
      problems.add(conflicts);
    });
  }
}
