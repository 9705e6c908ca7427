package org.flexidepth4j.tokenizer.template;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A {% macro %} (or the body of a {% call %} block, as caller): renders its body in a scope of its arguments. */
final class Macro implements PyCallable {
    private final String name;
    private final List<String> params;
    private final List<Parser.Expr> defaults;
    private final List<Parser.Node> body;
    private final Scope definedIn;

    Macro(String name, List<String> params, List<Parser.Expr> defaults, List<Parser.Node> body, Scope definedIn) {
        this.name = name;
        this.params = params;
        this.defaults = defaults;
        this.body = body;
        this.definedIn = definedIn;
    }

    @Override
    public Object call(List<Object> args, Map<String, Object> kwargs) {
        Scope.Render render = definedIn.render;
        render.enterCall(name);
        try {
            Scope scope = new Scope(definedIn);
            Map<String, Object> extraKwargs = new LinkedHashMap<>(kwargs);
            for (int i = 0; i < params.size(); i++) {
                String param = params.get(i);
                Object value;
                if (i < args.size()) value = args.get(i);
                else if (extraKwargs.containsKey(param)) value = extraKwargs.remove(param);
                else if (defaults.get(i) != null) value = defaults.get(i).eval(scope);
                else value = new Undefined("parameter '" + param + "' was not provided");
                scope.vars.put(param, value);
            }
            if (extraKwargs.containsKey("caller")) scope.vars.put("caller", extraKwargs.remove("caller"));
            scope.vars.put("varargs", args.size() > params.size() ? new ArrayList<>(args.subList(params.size(), args.size())) : new ArrayList<>());
            scope.vars.put("kwargs", extraKwargs);
            StringBuilder out = new StringBuilder();
            Parser.renderAll(body, scope, out);
            return out.toString();
        } finally {
            render.exitCall();
        }
    }

    @Override
    public String toString() {
        return "<Macro '" + name + "'>";
    }
}
